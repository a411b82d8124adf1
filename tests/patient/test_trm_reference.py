"""Pooled transplant-related mortality agrees with R ``glm(quasipoisson)``.

The input rows come from the evidence base (via the estimates for one profile). With Rscript
present the committed R script is re-run on the current rows; without it the committed golden
JSON is used if the committed input still equals the current rows.
Regenerate the committed input and golden JSON with ``tests/reference/patient/regenerate.sh``.
"""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest

from hsctms.patient.estimates import personal_estimates

REF = Path(__file__).resolve().parents[1] / "reference" / "patient"

pytestmark = pytest.mark.r


def _input_rows(est) -> list[dict[str, object]]:
    figs = {f.study_id: f for f in est.trm_studies}
    rows = []
    for p in est.trm_pooled:
        for sid in p.study_ids:
            f = figs[sid]
            rows.append({"group": f"{p.scope}: {p.group}", "study": sid,
                         "deaths": int(f.events), "n": int(f.n)})
    return rows


def _write(rows, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["group", "study", "deaths", "n"])
        w.writeheader()
        w.writerows(rows)


def _read(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as fh:
        return [{"group": r["group"], "study": r["study"], "deaths": int(r["deaths"]),
                 "n": int(r["n"])} for r in csv.DictReader(fh)]


def test_pooled_trm_matches_r(profiles, evidence, rscript, tmp_path):
    est = personal_estimates(profiles["young-rrms-high-activity"], evidence)
    rows = _input_rows(est)
    if rscript:
        inp, out = tmp_path / "in.csv", tmp_path / "out.json"
        _write(rows, inp)
        subprocess.run([rscript, str(REF / "trm_pooled.R"), str(inp), str(out)], check=True,
                       capture_output=True)
        golden = json.loads(out.read_text())["groups"]
    else:
        if _read(REF / "trm_input.csv") != rows:
            pytest.skip("evidence rows changed since the golden file; Rscript needed")
        golden = json.loads((REF / "trm_pooled.json").read_text())["groups"]
    for p in est.trm_pooled:
        g = golden[f"{p.scope}: {p.group}"]
        assert g["k"] == p.studies
        if p.per100 is None:
            assert g["per100"] is None
            continue
        # Same model, same data: agreement to floating-point accuracy.
        assert p.per100 == pytest.approx(g["per100"], rel=1e-8)
        assert p.ci == pytest.approx((g["lo"], g["hi"]), rel=1e-6)


def test_committed_golden_is_from_this_script():
    golden = json.loads((REF / "trm_pooled.json").read_text())
    assert "quasipoisson" in golden["meta"]["call"]
    assert _read(REF / "trm_input.csv")
