"""The trial file is checked strictly and builds the randomiser it describes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hsctms.design.randomisation import (
    InMemoryAllocationStore,
    MinimisationRandomiser,
    PermutedBlockRandomiser,
)
from hsctms.design.trial_config import load_trial_config, read_seed
from hsctms.errors import ConfigurationError

SEED = "0123456789abcdef0123"


def _file(tmp_path: Path, doc: Any) -> Path:
    path = tmp_path / "trial.json"
    path.write_text(json.dumps(doc))
    return path


def test_builds_the_randomiser_it_describes(tmp_path: Path) -> None:
    blocks = load_trial_config(_file(tmp_path, {"arms": ["aHSCT", "alemtuzumab"],
                                                "factors": ["centre"], "ratio": [2, 1]}))
    rnd = blocks.randomiser(SEED, InMemoryAllocationStore())
    assert isinstance(rnd, PermutedBlockRandomiser) and tuple(rnd.ratio) == (2, 1)
    mini = load_trial_config(_file(tmp_path, {
        "arms": ["A", "B"], "method": "minimisation", "factors": ["centre", "edss_band"],
        "weights": [1, 2], "p_best": 0.9, "max_imbalance": 3}))
    rnd2 = mini.randomiser(SEED, InMemoryAllocationStore())
    assert isinstance(rnd2, MinimisationRandomiser)
    assert (tuple(rnd2.weights or ()), rnd2.p_best, rnd2.max_imbalance) == ((1, 2), 0.9, 3)


@pytest.mark.parametrize(("doc", "named"), [
    ({"arms": ["A", "B"], "factors": [], "block_multiple": [1]}, "block_multiple"),  # typo
    ({"arms": ["A"], "factors": []}, "arms"),
    ({"arms": ["A", "A"], "factors": []}, "different"),
    ({"arms": ["A", "B"], "factors": [], "ratio": [1]}, "ratio"),
    ({"arms": ["A", "B"], "factors": [], "method": "urn"}, "method"),
    ({"arms": ["A", "B"], "factors": ["c"], "method": "minimisation", "p_best": 1.5},
     "p_best"),
    ({"arms": ["A", "B"], "factors": ["c"], "weights": [1]}, "minimisation only"),
    ({"arms": ["A", "B"], "factors": ["c", "d"], "method": "minimisation", "weights": [1]},
     "one weight per factor"),
    (["A", "B"], "JSON object"),
])
def test_bad_trial_files_are_refused_naming_the_key(tmp_path: Path, doc: Any,
                                                     named: str) -> None:
    with pytest.raises(ConfigurationError, match=named):
        load_trial_config(_file(tmp_path, doc))


def test_seed(tmp_path: Path) -> None:
    (tmp_path / "s.txt").write_text(f"  {SEED}\n")
    assert read_seed(tmp_path / "s.txt") == SEED
    (tmp_path / "short.txt").write_text("abc")
    with pytest.raises(ConfigurationError, match="too short"):
        read_seed(tmp_path / "short.txt")
