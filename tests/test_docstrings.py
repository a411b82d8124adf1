"""Every public function, method and class of the library has a numpydoc docstring whose
``Parameters`` section lists every parameter (and nothing else) and whose ``Returns`` (or
``Yields``) section is present when something is returned.

"Public" means named in a module's or package's ``__all__`` (and the public methods of those
classes). The check is numpydoc's own validator (``numpydoc.validate``), restricted to the
codes below; the command-line modules are excluded because their docstrings are ``--help``
texts rendered by Typer.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from typing import Any

import pytest

import hsctms

numpydoc_validate = pytest.importorskip("numpydoc.validate")

#: numpydoc error codes that must not occur: no docstring (GL08), parameter not documented
#: (PR01), documented parameter that does not exist (PR02), no Returns section (RT01), no
#: Yields section for a generator (YD01).
CHECKED = {"GL08", "PR01", "PR02", "RT01", "YD01"}

#: Modules not checked, with the reason.
EXCLUDED = {
    "hsctms.cli": "Typer command docstrings are the --help text, not numpydoc",
    "hsctms.__main__": "entry point only",
    "hsctms.db.migrations": "Alembic revision scripts",
}


def _modules() -> Iterator[str]:
    yield "hsctms"
    for info in pkgutil.walk_packages(hsctms.__path__, "hsctms."):
        if not any(info.name == x or info.name.startswith(x + ".") for x in EXCLUDED):
            yield info.name


def _public_objects() -> dict[str, Any]:
    """Import path -> object, one entry per object (the first public path found)."""
    found: dict[str, Any] = {}
    seen: set[tuple[str, str]] = set()
    for name in _modules():
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", ()):
            obj = getattr(module, attr, None)
            if not str(getattr(obj, "__module__", "")).startswith("hsctms"):
                continue
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            key = (obj.__module__, obj.__qualname__)
            if key in seen:
                continue
            seen.add(key)
            found[f"{name}.{attr}"] = obj
            if inspect.isclass(obj):
                for meth, value in vars(obj).items():
                    func = value.__func__ if isinstance(value, classmethod | staticmethod) \
                        else value
                    if not meth.startswith("_") and inspect.isfunction(func):
                        found[f"{name}.{attr}.{meth}"] = func
    return found


PUBLIC = _public_objects()


def test_the_walk_finds_the_public_api() -> None:
    """The walk itself is checked, so that an empty walk cannot pass."""
    assert len(PUBLIC) > 300
    assert "hsctms.survival.kaplan_meier" in PUBLIC
    assert "hsctms.survival.KaplanMeier.survival_at" in PUBLIC


def test_the_validator_catches_a_missing_section() -> None:
    """A function without Parameters and Returns sections is reported (the check can fail)."""
    import types

    mod = types.ModuleType("hsctms_docstring_probe")

    def probe(x: int) -> int:
        """Probe."""
        return x

    probe.__module__ = mod.__name__
    mod.probe = probe  # type: ignore[attr-defined]
    import sys

    sys.modules[mod.__name__] = mod
    try:
        codes = {code for code, _ in numpydoc_validate.validate(f"{mod.__name__}.probe")["errors"]}
    finally:
        del sys.modules[mod.__name__]
    assert {"PR01", "RT01"} <= codes


@pytest.mark.parametrize("path", sorted(PUBLIC))
def test_numpydoc_sections(path: str) -> None:
    errors = [f"{code}: {message}"
              for code, message in numpydoc_validate.validate(path)["errors"] if code in CHECKED]
    assert not errors, f"{path}:\n  " + "\n  ".join(errors)
