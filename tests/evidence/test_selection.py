"""EvidenceSelection and RowInclusion: validated on construction, frozen, serialisable;
RowInclusion's defaults are the query defaults of EvidenceBase.outcomes."""

from __future__ import annotations

import dataclasses

import pytest

from hsctms.errors import ConfigurationError, NotFoundError
from hsctms.evidence import EvidenceSelection, RowInclusion, load_evidence
from hsctms.meta.evidence_pool import pool_evidence


def test_evidence_selection_defaults_and_to_dict() -> None:
    sel = EvidenceSelection(studies=["atkins2016", " nash2017 "])
    assert sel.studies == ("atkins2016", "nash2017")
    assert sel.to_dict() == {"population": "all", "studies": ["atkins2016", "nash2017"],
                             "include_superseded": False, "verified_only": False}
    with pytest.raises(dataclasses.FrozenInstanceError):
        sel.population = "RRMS"  # type: ignore[misc]


@pytest.mark.parametrize("kwargs", [{"population": ""}, {"studies": []},
                                    {"studies": ["atkins2016", 3]},
                                    {"verified_only": "yes"}, {"include_superseded": 1}])
def test_evidence_selection_refuses_bad_values_with_a_hint(kwargs: dict) -> None:
    with pytest.raises(ConfigurationError) as info:
        EvidenceSelection(**kwargs)
    assert info.value.hint


def test_unknown_study_in_a_selection_suggests_ids() -> None:
    with pytest.raises(NotFoundError) as info:
        pool_evidence("trm", selection=EvidenceSelection(studies=["atkins2061"]))
    assert "atkins2016" in (info.value.hint or "")


def test_row_inclusion_defaults_are_the_query_defaults() -> None:
    ev = load_evidence()
    assert RowInclusion().to_dict() == {"verified_only": False, "include_pooled": False,
                                        "include_superseded": True}
    everything = ev.outcomes(outcome="trm")
    assert everything.equals(ev.outcomes(outcome="trm", rows=RowInclusion()))
    current = ev.outcomes(outcome="trm", rows=RowInclusion(include_superseded=False))
    assert current["superseded_by"].isna().all() and len(current) < len(everything)
    verified = ev.outcomes(outcome="trm", rows=RowInclusion(verified_only=True))
    assert verified["verified"].astype(bool).all()
    pooled = ev.outcomes(outcome="trm", rows=RowInclusion(include_pooled=True))
    assert (pooled["arm"] == "pooled").any() and not (everything["arm"] == "pooled").any()
    with pytest.raises(ConfigurationError, match="True or False"):
        RowInclusion(include_pooled="no")  # type: ignore[arg-type]


def test_query_filters_beyond_the_first_two_are_keyword_only() -> None:
    ev = load_evidence()
    with pytest.raises(TypeError):
        ev.outcomes("atkins2016", "trm", "ahsct")  # type: ignore[misc]
    assert not ev.outcomes("atkins2016", "trm").empty
