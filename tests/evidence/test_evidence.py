"""The shipped evidence base loads, its rules catch bad rows, and its queries work."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from hsctms.errors import ConfigurationError, EvidenceError, NotFoundError
from hsctms.evidence import DATA_DIR, RowInclusion, load_evidence, outcomes, study
from hsctms.model.regimens import trialist_regimen_map

#: Committed copies of the research notes the evidence base was entered from (the provenance
#: tests read these, so they run on every machine); kept in sync with ../shared/research.
RESEARCH = Path(__file__).resolve().parent / "data" / "research"
#: The product lead's research folder beside the project (present for developers and CI).
SHARED_RESEARCH = Path(__file__).resolve().parents[3] / "shared" / "research"


@pytest.fixture(scope="module")
def ev():
    return load_evidence()


def test_default_base_loads_with_expected_content(ev):
    assert len(ev.studies) >= 40
    assert {"nash2017", "burt2019_mist", "atkins2016", "sormani2017", "alping2021"} <= set(
        ev.study_ids)
    assert set(ev.outcome_table["study_id"]) <= set(ev.study_ids)
    assert set(ev.harm_table["study_id"]) <= set(ev.study_ids)
    # HALT-MS 5-y EFS with its 90% CI, exactly as the abstract gives it
    row = ev.outcomes(study="nash2017", outcome="event_free").iloc[0]
    assert (row["estimate"], row["ci_low"], row["ci_high"], row["ci_level"]) == (
        69.2, 50.2, 82.1, 0.9)


def test_unverified_flags_are_kept(ev):
    assert not ev.is_verified("nash2017", "trm_deaths")
    assert ev.is_verified("atkins2016", "trm_deaths")
    assert not ev.is_verified("burt2015", "edss")
    recalled = ev.outcomes(study="nash2015", outcome="event_free").iloc[0]
    assert recalled["verified"] is False or recalled["verified"] == False  # noqa: E712
    assert recalled["source_type"] == "recalled"
    trm = ev.outcomes(study="muraro2017", outcome="trm").iloc[0]
    assert not trm["verified"]  # Muraro's 8 deaths are recalled
    assert ev.outcomes(outcome="trm", rows=RowInclusion(verified_only=True))["study_id"].isin(
        ["muraro2017"]).sum() == 0


def test_comparator_arms_and_harms_present(ev):
    mist = ev.outcomes(study="burt2019_mist", outcome="progression", measure="percent")
    assert set(mist["arm"]) >= {"ahsct", "dmt"}
    dmt = mist[(mist["arm"] == "dmt") & (mist["events"] == 34)].iloc[0]
    assert dmt["n"] == 55 and dmt["estimate_derived"]
    thyroid = ev.harms(harm="thyroid", study="zhukovsky2021")
    assert dict(zip(thyroid["arm"], thyroid["estimate"], strict=True)) == {
        "ahsct": 21, "alemtuzumab": 46}
    for harm in ("febrile_neutropenia", "infection", "herpes_zoster", "thyroid", "itp",
                 "menses_recovery", "ebv_reactivation", "secondary_malignancy",
                 "secondary_autoimmunity"):
        assert not ev.harms(harm=harm).empty, harm


def test_trm_rows_are_derived_from_studies(ev):
    trm = ev.trm_data()
    atkins = trm[trm["study"] == "atkins2016"].iloc[0]
    assert (atkins["events"], atkins["n"], atkins["intensity"]) == (1, 24, "high")
    # superseded reports are excluded by default, included on request
    assert "burt2015" not in set(trm["study"])
    assert "burt2015" in set(ev.trm_data(include_superseded=True)["study"])
    assert (trm["events"] <= trm["n"]).all()


def test_phenotype_filter_and_pooled(ev):
    rel = ev.outcomes(outcome="progression_free", phenotype="relapsing")
    assert not rel.empty
    assert (rel["population"].str.lower().isin(["rrms", "relapsing"])
            | ((rel["population"] == "all") & (rel["phenotype_group"] == "relapsing"))).all()
    prog = ev.outcomes(outcome="progression_free", phenotype="progressive")
    assert "boffa2021" in set(prog["study_id"])
    assert ev.outcomes(outcome="trm")["arm"].ne("pooled").all()
    pooled = ev.published_pooled("trm")
    sormani = pooled[pooled["study_id"] == "sormani2017"].iloc[0]
    assert (sormani["estimate"], sormani["ci_low"], sormani["ci_high"]) == (2.1, 1.3, 3.4)
    with pytest.raises(ConfigurationError, match="Unknown phenotype"):
        ev.outcomes(phenotype="benign")


def test_unknown_study_suggests(ev):
    with pytest.raises(NotFoundError, match="atkins2016"):
        ev.study("atkins2061")
    with pytest.raises(NotFoundError):
        outcomes(study="nope")
    assert study("atkins2016")["trm_deaths"] == 1


def test_regimen_map_changes_intensity():
    ev = load_evidence(regimen_map=trialist_regimen_map())
    assert ev.study("burt2019_mist")["intensity"] == "low"
    assert load_evidence().study("burt2019_mist")["intensity"] == "intermediate"
    assert ev.regimen_map == "trialist"


def test_to_dict_is_json_serialisable(ev):
    import json

    text = json.dumps(ev.to_dict(), allow_nan=False)
    assert "atkins2016" in text


def test_proportion_data_reconstructs_events(ev):
    data = ev.proportion_data("progression_free", 5)
    assert (data["events"] <= data["n"]).all()
    row = data[data["study"] == "burman2014"].iloc[0]
    assert row["events_reconstructed"] and row["events"] == round(0.77 * 41)
    with pytest.raises(EvidenceError, match="No 'neda' figures at 42 y"):
        ev.proportion_data("neda", 42)


# ------------------------------------------------------------------ validation rules


def _copy(tmp_path: Path) -> Path:
    for name in ("studies.yaml", "outcomes.csv", "harms.csv"):
        shutil.copy(DATA_DIR / name, tmp_path / name)
    return tmp_path


def _edit_csv(path: Path, line: int, column: str, value: str) -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[line - 2, column] = value
    frame.to_csv(path, index=False, lineterminator="\n")


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("events", "30", "field 'events': events (30) exceed n (24)"),
        ("ci_low", "70", "field 'estimate': estimate 69.2 lies outside its confidence interval"),
        ("ci_level", "", "field 'ci_level': a confidence interval needs its level"),
        ("estimate", "169.2", "percentage 169.2 is outside [0, 100]"),
        ("study_id", "nash2071", "field 'study_id': unknown study id 'nash2071'"),
        ("outcome", "cure", "field 'outcome': 'cure' is not one of"),
        ("verified", "maybe", "field 'verified': must be true or false"),
    ],
)
def test_bad_outcome_row_is_named(tmp_path, column, value, message):
    base = _copy(tmp_path)
    _edit_csv(base / "outcomes.csv", 2, column, value)  # line 2 = HALT-MS EFS
    with pytest.raises(EvidenceError) as info:
        load_evidence(base)
    text = str(info.value)
    assert "outcomes.csv line 2" in text
    assert message in text


def test_crude_percentage_must_match_events(tmp_path):
    base = _copy(tmp_path)
    frame = pd.read_csv(base / "harms.csv", dtype=str, keep_default_na=False)
    line = int(frame.index[(frame["study_id"] == "massarotti2021")][0]) + 2
    _edit_csv(base / "harms.csv", line, "estimate", "80")
    with pytest.raises(EvidenceError, match=rf"harms.csv line {line} .*events/n = 30/43"):
        load_evidence(base)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  transplant_year_start: 1998\n  transplant_year_end: 2008",
         "  transplant_year_start: 2008\n  transplant_year_end: 1998",
         "field 'transplant_year_end': transplant years are reversed (2008 > 1998)"),
        ("  pct_rrms: 43\n", "  pct_rrms: 143\n", "field 'pct_rrms': 143 is above the maximum 100"),
        ("  trm_deaths: 1\n  trm_n: 24\n", "  trm_deaths: 25\n  trm_n: 24\n",
         "deaths (25) exceed patients (24)"),
        ("  superseded_by: nash2017\n", "  superseded_by: nash2077\n",
         "field 'superseded_by': unknown study id 'nash2077'"),
        ("  edss_stat: median\n", "  edss_stat: median\n  edss_sd: 1\n",
         "field 'edss_sd': unknown field"),
        ("  unverified: [trm_deaths, trm_n]\n", "  unverified: [trm_deaths, trm_count]\n",
         "'trm_count' is not a study field"),
    ],
)
def test_bad_study_entry_is_named(tmp_path, old, new, message):
    base = _copy(tmp_path)
    text = (base / "studies.yaml").read_text(encoding="utf-8")
    assert old in text
    (base / "studies.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(EvidenceError) as info:
        load_evidence(base)
    assert "studies.yaml entry" in str(info.value)
    assert message in str(info.value)


def test_missing_file_is_clear(tmp_path):
    base = _copy(tmp_path)
    (base / "harms.csv").unlink()
    with pytest.raises(EvidenceError, match=r"harms\.csv is missing"):
        load_evidence(base)


# --------------------------------------------------- every number is in the research notes


@pytest.mark.parametrize("name", ["evidence.md", "evidence-addendum.md", "evidence-2026.md"])
def test_committed_research_notes_match_the_shared_folder(name: str) -> None:
    """The committed copies are the product lead's current notes (when that folder exists)."""
    if not SHARED_RESEARCH.is_dir():
        pytest.skip(f"no shared research folder at {SHARED_RESEARCH}")
    assert (RESEARCH / name).read_bytes() == (SHARED_RESEARCH / name).read_bytes(), (
        f"copy {SHARED_RESEARCH / name} to {RESEARCH / name} and re-run the provenance tests")


def test_provenance_check_can_fail() -> None:
    """A number that is not in the notes is not found (the check is not vacuous)."""
    numbers = _research_numbers()
    assert "69.2" in numbers and "3" in numbers
    assert not _forms(123456.789) & numbers


#: Notes the numbers may come from: the research notes and the dated notes of figures checked
#: against abstracts and registry pages when the evidence base was updated.
NOTES = ("evidence.md", "evidence-addendum.md", "evidence-2026.md", "checked-2026-12-06.md")


def _research_numbers() -> set[str]:
    text = ""
    for name in NOTES:
        text += (RESEARCH / name).read_text(encoding="utf-8")
    text = re.sub(r"(\d),(\d{3})\b", r"\1\2", text)  # 2,486 -> 2486
    return set(re.findall(r"\d+(?:\.\d+)?", text))


def _forms(value: float) -> set[str]:
    v = abs(float(value))
    out = {f"{v:g}", f"{v:.1f}", f"{v:.2f}"}
    if v == int(v):
        out.add(str(int(v)))
    return out


@pytest.mark.parametrize("table", ["outcome_table", "harm_table"])
def test_every_entered_number_occurs_in_the_research_notes(ev, table):
    """Guards against typos and figures from memory: each estimate, CI bound, spread bound,
    events and n entered by hand appears verbatim in the notes (:data:`NOTES`)."""
    numbers = _research_numbers()
    frame = getattr(ev, table)
    frame = frame[frame["row"] != "studies.yaml"]
    missing = []
    for rec in frame.to_dict("records"):
        for col in ("estimate", "ci_low", "ci_high", "spread_low", "spread_high", "events", "n"):
            value = rec[col]
            if value is None or pd.isna(value) or (col == "estimate" and rec["estimate_derived"]):
                continue
            if not _forms(value) & numbers:
                missing.append(f"{rec['row']} {col}={value}")
    assert not missing, missing


def test_every_study_number_occurs_in_the_research_notes(ev):
    """Study-level numbers entered by hand appear verbatim in the research notes
    (follow-up and disease duration are unit-converted, so they are checked via their notes)."""
    numbers = _research_numbers()
    fields = ("pub_year", "transplant_year_start", "transplant_year_end", "n", "pct_rrms",
              "pct_spms", "pct_ppms", "pct_progressive", "age", "edss", "trm_deaths", "trm_n")
    missing = []
    for rec in ev.studies.to_dict("records"):
        for f in fields:
            value = rec[f]
            if value is None or pd.isna(value):
                continue
            if not _forms(value) & numbers:
                missing.append(f"{rec['study_id']}.{f}={value}")
    assert not missing, missing
