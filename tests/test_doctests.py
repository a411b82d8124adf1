"""Run the doctests of every hsctms module (the examples in the docstrings are tested code).

One test per module that has examples, so ``pytest -n 2`` spreads them. Each runs with the
working directory set to a fresh temporary directory (an example can never write into the
repository or the caller's directory) and with warnings as errors, like every other test.
An example is skipped (``# doctest: +SKIP``) only when it needs files, a database, a server
or an optional extra, and the docstring says so.
"""

from __future__ import annotations

import doctest
import importlib
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
#: Not importable outside alembic (``alembic.context`` exists only while migrating).
NOT_IMPORTABLE = ("hsctms.db.migrations",)
OPTIONS = doctest.ELLIPSIS


def _module_names() -> list[str]:
    names = []
    for path in sorted((SRC / "hsctms").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        if name.startswith(NOT_IMPORTABLE) or ">>>" not in path.read_text(encoding="utf-8"):
            continue
        names.append(name)
    return names


MODULES = _module_names()


def _run(module: types.ModuleType) -> tuple[doctest.TestResults, str, int]:
    """(results, report of failures, examples found incl. skipped) of ``module``'s doctests."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    out: list[str] = []
    found = 0
    for test in finder.find(module, module.__name__):
        found += len(test.examples)
        runner.run(test, out=out.append, clear_globs=True)
    return runner.summarize(verbose=False), "".join(out), found


@pytest.fixture
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    yield
    if "matplotlib.pyplot" in sys.modules:
        import matplotlib.pyplot as plt

        plt.close("all")
    assert not list(tmp_path.iterdir()), "a doctest wrote files into the working directory"


@pytest.mark.usefixtures("_isolated")
@pytest.mark.parametrize("name", MODULES)
def test_module_doctests(name: str) -> None:
    module = importlib.import_module(name)
    results, report, found = _run(module)
    assert found > 0, f"{name} has '>>>' but no doctest was found"
    assert results.failed == 0, f"doctests of {name} failed:\n{report}"


def test_doctests_are_found() -> None:
    # the package documents itself with examples: losing them all is a regression
    assert len(MODULES) >= 30, MODULES
    assert "hsctms.meta.pooling" in MODULES and "hsctms.survival.km" in MODULES


def test_runner_reports_a_wrong_example() -> None:
    fake = types.ModuleType("hsctms_fake_doctest")
    fake.__doc__ = ">>> 1 + 1\n3\n>>> 2 * 2  # doctest: +SKIP\n5\n"
    results, report, found = _run(fake)
    assert (results.failed, results.attempted, found) == (1, 1, 2)
    assert "Expected:\n    3\nGot:\n    2" in report
