"""Regenerate the golden files of the economics reference tests with R.

Run from the repository root: ``PYTHONPATH=src python tests/reference/economics/regenerate.py``.
Writes golden_uk.json (R on inputs_uk.json) and golden_psa.json (R on the seeded PSA draws,
passed to R through a temporary file; seed and size as in tests/economics/conftest.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from hsctms.economics.inputs import load_inputs
from hsctms.economics.psa import sample_parameters

REF = Path(__file__).resolve().parent
PSA_SEED = 20261202  # as tests/economics/conftest.py
PSA_DRAWS = 300


def main() -> None:
    rscript = shutil.which("Rscript")
    assert rscript, "Rscript is needed"
    inputs_path = REF / "inputs_uk.json"
    out = subprocess.run([rscript, str(REF / "markov.R"), str(inputs_path)],
                         capture_output=True, text=True, check=True).stdout
    (REF / "golden_uk.json").write_text(out)
    inputs = load_inputs(json.loads(inputs_path.read_text()))
    draws = sample_parameters(inputs, PSA_DRAWS, PSA_SEED)
    with tempfile.TemporaryDirectory() as tmp:
        draws_path = Path(tmp) / "draws.json"
        draws_path.write_text(json.dumps({k: v.tolist() for k, v in draws.items()}))
        out = subprocess.run([rscript, str(REF / "markov.R"), str(inputs_path),
                              str(draws_path)], capture_output=True, text=True,
                             check=True).stdout
    doc = json.loads(out)
    doc.pop("traces")
    (REF / "golden_psa.json").write_text(json.dumps(doc))


if __name__ == "__main__":
    main()
