#!/usr/bin/env sh
# Regenerate the pooled-TRM golden values from the current evidence base.
set -e
cd "$(dirname "$0")/../../.."
.venv/bin/python - <<'PY'
import importlib.util
from pathlib import Path

from hsctms.patient.estimates import personal_estimates
from hsctms.model.profile import load_profile

spec = importlib.util.spec_from_file_location("t", "tests/patient/test_trm_reference.py")
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
est = personal_estimates(load_profile("examples/profiles/young-rrms-high-activity.json"))
mod._write(mod._input_rows(est), Path("tests/reference/patient/trm_input.csv"))
PY
Rscript tests/reference/patient/trm_pooled.R tests/reference/patient/trm_input.csv \
    tests/reference/patient/trm_pooled.json
