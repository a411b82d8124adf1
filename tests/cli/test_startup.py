"""The command line starts without the heavy libraries (a structural guard, never a timing).

``hsctms --help``, ``hsctms COMMAND --help`` and ``hsctms version`` must not import pandas,
numpy, scipy, the database, web or statistics code: commands import what they need in their
bodies, and the root package exports ``Cohort`` lazily (PEP 562). Each probe runs in a fresh
interpreter, because this test process has imported everything already.
bench/bench_startup.py measures the wall time this buys.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import hsctms

#: Third-party libraries the CLI must not import to show help or its version.
HEAVY_LIBRARIES = ("numpy", "pandas", "pyarrow", "scipy", "statsmodels", "matplotlib",
                   "sqlalchemy", "alembic", "fastapi", "starlette", "weasyprint", "jinja2",
                   "yaml", "dask")

#: hsctms packages below the interfaces (data model, data, statistics, reports, services, web).
HEAVY_PACKAGES = ("hsctms.model", "hsctms.io", "hsctms.db", "hsctms.datasets", "hsctms.plots",
                  "hsctms.endpoints", "hsctms.survival", "hsctms.evidence", "hsctms.meta",
                  "hsctms.design", "hsctms.eligibility", "hsctms.analysis", "hsctms.patient",
                  "hsctms.reports", "hsctms.services", "hsctms.web")

#: Run in a fresh interpreter: every ``--help`` (root, each group, each command) and
#: ``version`` in process, then print the top-level modules imported, as JSON.
PROBE = """
import json, sys
from typer.testing import CliRunner
from hsctms.cli import app

def commands(group, prefix=()):
    out = [(*prefix, c.name or c.callback.__name__) for c in group.registered_commands]
    for sub in group.registered_groups:
        out.append((*prefix, sub.name))
        out.extend(commands(sub.typer_instance, (*prefix, sub.name)))
    return out

runner = CliRunner()
failed = []
for args in [["--help"], ["version"], *([*c, "--help"] for c in commands(app))]:
    result = runner.invoke(app, args)
    if result.exit_code != 0:
        failed.append([args, result.output])
json.dump({"modules": sorted(sys.modules), "failed": failed}, sys.stdout)
"""


def _fresh_modules(code: str) -> dict[str, list[str]]:
    """``sys.modules`` (and failures) of a fresh interpreter after running ``code``."""
    src = str(Path(hsctms.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (src, os.environ.get("PYTHONPATH", "")) if p)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    out: dict[str, list[str]] = json.loads(proc.stdout)
    return out


def _imported(modules: list[str], names: tuple[str, ...]) -> list[str]:
    """The entries of ``names`` found (themselves or a submodule) in ``modules``."""
    return [n for n in names if any(m == n or m.startswith(n + ".") for m in modules)]


@pytest.fixture(scope="module")
def help_modules() -> list[str]:
    """Modules imported by running every ``--help`` and ``version`` in a fresh interpreter."""
    probe = _fresh_modules(PROBE)
    assert probe["failed"] == [], probe["failed"]
    return probe["modules"]


def test_help_and_version_import_no_heavy_library(help_modules: list[str]) -> None:
    found = _imported(help_modules, HEAVY_LIBRARIES)
    assert not found, (
        f"'hsctms --help' / 'hsctms version' imported {found}: import them inside the "
        "command body (or behind a lazy module __getattr__), not at module level")


def test_help_and_version_import_no_library_layer(help_modules: list[str]) -> None:
    found = _imported(help_modules, HEAVY_PACKAGES)
    assert not found, (
        f"'hsctms --help' / 'hsctms version' imported {found}: hsctms.cli modules import the "
        "library inside command bodies")


def test_probe_sees_what_a_command_imports() -> None:
    # the probe is not vacuous: the lazy export imports pandas when it is used
    probe = _fresh_modules(
        "import json, sys\nimport hsctms.cli\nfrom hsctms import Cohort\n"
        "json.dump({'modules': sorted(sys.modules)}, sys.stdout)")
    assert _imported(probe["modules"], ("pandas", "hsctms.model")) == ["pandas", "hsctms.model"]


def test_root_package_exports_lazily() -> None:
    from hsctms._version import __version__
    from hsctms.model.cohort import Cohort

    assert hsctms.Cohort is Cohort
    assert hsctms.__version__ == __version__
    assert set(hsctms.__all__) == {"Cohort", "HsctmsError", "__version__"}
    typo = "Cohrt"
    with pytest.raises(AttributeError, match="no attribute 'Cohrt'"):
        getattr(hsctms, typo)
