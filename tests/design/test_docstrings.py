"""The examples in the design docstrings run and give the documented values."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["hsctms.design.proportions", "hsctms.design.survival",
                                  "hsctms.design.counts", "hsctms.design.gsd",
                                  "hsctms.design.simulate", "hsctms.design.sequential_sim"])
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
