"""``hsctms evidence`` is readable at 80 columns and writes only what it is asked to.

Before: ``evidence list`` split words across lines ("popul ation", "intens ity"), mixed
precision ("0.1972 %", "4.167 %"), showed a CI column that was empty in every row; ``evidence
pool`` was at risk of leaving files behind; there was no way to see what changed since the
previous evidence date.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hsctms.cli import app
from hsctms.evidence import HARMS, OUTCOMES, load_evidence

runner = CliRunner()
WIDTH = 80


@pytest.fixture(autouse=True)
def _narrow(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)  # anything written implicitly would land here


def _run(*args: str, width: int = WIDTH) -> str:
    """The output at ``width`` columns (content checks use a wide terminal, so that table
    cells are not wrapped across lines)."""
    res = runner.invoke(app, ["evidence", *args], env={"COLUMNS": str(width)})
    assert res.exit_code == 0, res.output
    return res.output


def _vocabulary_words() -> set[str]:
    """Words that must never be split across lines: ids, outcome and harm names, arms."""
    ev = load_evidence()
    words = set(ev.study_ids) | set(OUTCOMES) | set(HARMS) | set(ev.outcome_table["arm"])
    words |= {part for w in words for part in w.split("_")}  # shown as "febrile neutropenia"
    return {w for w in words if len(w) > 3} | {"population", "intensity", "estimate",
                                                 "verified", "unverified"}


def _split_words(text: str, words: set[str]) -> list[str]:
    """Vocabulary words that appear cut in two: a line ending in a proper prefix of the word
    whose next line, in the same column, starts with the rest."""
    lines = text.splitlines()
    broken = []
    for above, below in itertools.pairwise(lines):
        for m in re.finditer(r"\S+", above):
            head = m.group()
            rest = below[m.start():m.start() + 30].split(" ")[0]
            if head and rest and (head + rest) in words and head not in words:
                broken.append(head + "|" + rest)
    return broken


@pytest.mark.parametrize("args", [
    ("list",),
    ("list", "--outcome", "neda"),
    ("list", "--outcome", "progression_free", "--pooled"),
    ("harms",),
    ("harms", "--harm", "thyroid"),
    ("show", "muraro2025"),
    ("show", "samijn2006"),
    ("changes",),
    ("pool", "--outcome", "trm", "--by", "era"),
])
def test_fits_80_columns_without_splitting_words(args: tuple[str, ...]) -> None:
    out = _run(*args)
    too_wide = [line for line in out.splitlines() if len(line) > WIDTH]
    assert not too_wide, too_wide[:3]
    assert not _split_words(out, _vocabulary_words())


def test_list_has_no_empty_columns_and_one_precision() -> None:
    out = _run("list", "--outcome", "neda", width=200)
    header = next(line for line in out.splitlines() if line.startswith("study"))
    assert "CI" not in header.split()  # the interval is written beside the estimate
    assert "73.0% (66.0 to 81.0)" in out  # Silfverberg 2024 NEDA at 5 y with its 95% CI
    percents = re.findall(r"(\d+(?:\.\d+)?)%", out)
    assert percents and all(re.fullmatch(r"\d+\.\d", p) for p in percents), percents
    trm = _run("list", "--outcome", "trm", width=200)
    assert "0.2%" in trm and "4.2%" in trm  # 1/507 and 1/24: one decimal each
    assert "0.1972" not in trm and "4.167" not in trm


def test_list_studies_shows_design_flags_and_evidence_date() -> None:
    out = _run("list", width=200)
    assert "Evidence date 2026-12-06" in out
    flat = " ".join(out.split())
    assert "muraro2025 adjusted" in flat and "burt2019_mist RCT" in flat
    assert "recruitment closed" in flat  # StarMS
    assert "terminated" in flat  # COAST


def test_harms_show_context_and_exact_interval() -> None:
    out = _run("show", "samijn2006", width=200)
    flat = " ".join(out.split())
    assert "7.1% (0.2 to 33.9, exact)" in flat  # 1 cancer in 14 people, with its interval
    assert "a figure resting on a single event" in flat
    ebv = " ".join(_run("harms", "--harm", "ebv_reactivation", width=200).split())
    assert "lymphoproliferative" in ebv


def test_show_gives_the_full_reference_and_what_is_not_confirmed() -> None:
    flat = " ".join(_run("show", "alping2021", width=200).split())
    assert "Neurology 2021" in flat and "10.1212/WNL.0000000000011545" in flat
    assert "not confirmed authors, volume, pages" in flat
    assert "?" not in flat.split("not confirmed")[0]


def test_changes_since_previous_and_since_a_date(tmp_path: Path) -> None:
    out = " ".join(_run("changes").split())
    assert "Evidence date 2026-12-06 (previous 2026-11-22" in out
    assert "Added: muraro2025, boffa2023, mariottini2022, starms, coast" in out
    assert "First version" not in out  # only what changed since the previous date
    target = tmp_path / "changes.json"
    out = " ".join(_run("changes", "--since", "2020-01-01", "--json", str(target)).split())
    assert "First version" in out
    payload = json.loads(target.read_text(encoding="utf-8"))
    assert [e["date"] for e in payload["entries"]] == ["2026-12-06", "2026-11-22"]
    assert payload["previous_evidence_date"] == "2026-11-22"
    later = " ".join(_run("changes", "--since", "2026-12-06").split())
    assert "No changes after 2026-12-06" in later
    res = runner.invoke(app, ["evidence", "changes", "--since", "last week"])
    assert res.exit_code == 1 and "YYYY-MM-DD" in res.output


def test_pool_writes_no_file_unless_asked(tmp_path: Path) -> None:
    _run("pool", "--outcome", "trm")
    _run("pool", "--outcome", "trm", "--by", "intensity")
    assert list(tmp_path.iterdir()) == []
    plot = tmp_path / "trm.svg"
    _run("pool", "--outcome", "trm", "--plot", str(plot))
    assert "<svg" in plot.read_text(encoding="utf-8")
    _run("pool", "--outcome", "trm", "--plot", str(plot))  # its own file: rewritten


def test_pool_never_overwrites_a_file_it_did_not_write(tmp_path: Path) -> None:
    mine = tmp_path / "figure.svg"
    mine.write_text("<svg>my own drawing</svg>\n", encoding="utf-8")
    res = runner.invoke(app, ["evidence", "pool", "--outcome", "trm", "--plot", str(mine)])
    assert res.exit_code == 1
    assert mine.read_text(encoding="utf-8") == "<svg>my own drawing</svg>\n"
    res = runner.invoke(app, ["evidence", "pool", "--plot", str(tmp_path / "plot.txt")])
    assert res.exit_code == 1 and "must end in .svg, .png or .pdf" in " ".join(res.output.split())
    assert not (tmp_path / "plot.txt").exists()


def test_slow_commands_show_progress(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Pooling, drawing and the Sormani reproduction report their steps to the progress
    display (a transient spinner on a terminal, silent otherwise)."""
    import hsctms.cli.evidence as cli

    steps: list[str] = []

    @contextmanager
    def recorder(description: str) -> Iterator[Callable[..., None]]:
        steps.append(description)
        yield lambda text, done=None, total=None: steps.append(text)

    monkeypatch.setattr(cli, "progress_display", recorder)
    _run("pool", "--outcome", "trm", "--plot", str(tmp_path / "trm.svg"))
    assert steps == ["Pooling the studies", "Drawing the forest plot"]
    steps.clear()
    _run("sormani")
    assert steps and steps[0].startswith("Reproducing Sormani 2017")


def test_bracketed_labels_are_printed_as_text() -> None:
    """Subgroup labels such as "[before 2005]" are text, not console markup."""
    out = _run("pool", "--outcome", "trm", "--by", "era", width=200)
    assert "Saiz 2004 [before 2005]" in out
