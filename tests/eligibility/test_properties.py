"""Property: an unknown input can never count as met (or as passing).

For a random, fully known profile every criterion has a definite status. Blanking any subset of
its facts (making them unknown) must leave each criterion either with the same status or
``unknown``, never flipping met <-> not met; and a set's verdict may only move to
``cannot_tell``.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hsctms.eligibility.engine import criteria_sets
from hsctms.model.profile import dmt_catalogue
from hsctms.model.scales import EDSS_VALUES

_NAMES = [*sorted({v["name"] for v in dmt_catalogue().values()}), "unlisted drug"]

dmt = st.fixed_dictionaries({
    "name": st.sampled_from(_NAMES),
    "failed": st.booleans(),
    "months": st.floats(0, 120),
    "high_efficacy": st.booleans(),
    "cytotoxic": st.booleans(),
})


@st.composite
def full_facts(draw):
    r12 = draw(st.integers(0, 5))
    r18 = r12 + draw(st.integers(0, 2))
    r24 = r18 + draw(st.integers(0, 2))
    r36 = r24 + draw(st.integers(0, 2))
    gd12, t2_12 = draw(st.integers(0, 5)), draw(st.integers(0, 8))
    dmts = draw(st.lists(dmt, max_size=4))
    return {
        "age": draw(st.floats(12, 80)),
        "sex": draw(st.sampled_from(["F", "M", "X"])),
        "phenotype": draw(st.sampled_from(["RRMS", "SPMS", "PPMS", "PRMS"])),
        "edss": draw(st.sampled_from(EDSS_VALUES)),
        "edss_raised_by_recent_relapse": draw(st.booleans()),
        "disease_duration": draw(st.floats(0, 40)),
        "years_since_diagnosis": draw(st.floats(0, 40)),
        "relapses_12m": r12, "relapses_18m": r18, "relapses_24m": r24, "relapses_36m": r36,
        "gd_lesions_12m": gd12, "new_t2_lesions_12m": t2_12,
        "gd_lesions_24m": gd12 + draw(st.integers(0, 3)),
        "new_t2_lesions_24m": t2_12 + draw(st.integers(0, 3)),
        "mri_activity_12m": gd12 + t2_12 > 0,
        "mri_activity_24m": draw(st.booleans()) or gd12 + t2_12 > 0,
        "dmts": dmts, "dmt_count": len(dmts), "treatment_naive": not dmts,
        "hedmt_contraindicated": draw(st.booleans()),
        "rapidly_evolving_severe": draw(st.booleans()),
        "csf_oligoclonal_bands": draw(st.booleans()),
        "significant_comorbidity": draw(st.booleans()),
        "prior_ahsct": draw(st.booleans()),
        "pregnant": draw(st.booleans()),
        "nmosd": draw(st.booleans()),
    }


@settings(max_examples=150, deadline=None)
@given(facts=full_facts(), data=st.data())
def test_unknown_never_counts_as_met(facts, data):
    hidden = data.draw(st.sets(st.sampled_from(sorted(facts))))
    partial = {k: (None if k in hidden else v) for k, v in facts.items()}
    # Also hide single DMT flags: an entry whose 'failed' or 'months' is unknown.
    if facts["dmts"] and data.draw(st.booleans()):
        partial["dmts"] = [{**d, "failed": None} for d in facts["dmts"]]
    for s in criteria_sets():
        full, part = s.evaluate(facts), s.evaluate(partial)
        for a, b in zip(full.results, part.results, strict=True):
            assert a.status != "unknown", a.criterion.id  # fully known -> decided
            assert b.status in (a.status, "unknown"), (a.criterion.id, a.status, b.status)
        assert part.verdict in (full.verdict, "cannot_tell") or not s.criteria
