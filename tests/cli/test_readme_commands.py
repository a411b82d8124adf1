"""Every console command of the README runs as written, in order, in a fresh directory.

The README's ``bash`` blocks are parsed (continuation lines joined, comment lines dropped)
and each command is run by ``bash`` in a new temporary directory that holds only a copy of the
checkout's ``examples/`` (the README's paths are relative to the checkout), with this
checkout's ``hsctms`` and ``python`` first on ``PATH``. A few commands are not run; each is
listed in :data:`NOT_RUN` with the reason, and a README command that is neither run nor
listed fails the test, so a new command cannot be skipped silently.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

#: README commands that are not run here, with the reason.
NOT_RUN: dict[str, str] = {
    "scripts/demo": "sets up the machine (system packages, virtual environment) and builds "
                    "the demo; CI runs the set-up itself and tests/cli covers 'hsctms demo'",
    "scripts/test": "runs the whole test suite, which contains this test",
    "scripts/test --fuzz 30": "30 minutes of property tests with random seeds",
    "source .venv/bin/activate": "the test puts this checkout's hsctms first on PATH instead",
    'HSCTMS_SECRET_KEY=$(python -c "import secrets; print(secrets.token_urlsafe(48))") '
    "hsctms serve --db registry.sqlite": "a web server that runs until stopped (tests/web "
                                         "serve the same app in-process and in Chromium)",
}

#: Standard input of every command (the password, twice, of 'hsctms users add').
STDIN = "readme-test-password-1234\nreadme-test-password-1234\n"


def readme_commands(text: str) -> list[str]:
    """The commands of the ``bash`` code blocks, continuation lines joined, in order."""
    commands: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL):
        current = ""
        for line in block.splitlines():
            if current:
                current += " " + line.strip()
            elif line.strip() and not line.lstrip().startswith("#"):
                current = line.strip()
            else:
                continue
            if current.endswith("\\"):
                current = current[:-1].rstrip()
                continue
            commands.append(current)
            current = ""
        assert not current, f"unterminated continuation line: {current!r}"
    return commands


def without_comment(command: str) -> str:
    """The command without its trailing ``# comment``."""
    return re.sub(r"\s+#\s.*$", "", command).strip()


def test_the_parser_joins_continuations_and_drops_comments() -> None:
    text = "x\n```bash\n# note\na --b \\\n    c  # why\n\nd\n```\n```python\nno\n```\n"
    assert readme_commands(text) == ["a --b c  # why", "d"]
    assert without_comment("a --b c  # why") == "a --b c"


def test_not_run_lists_only_readme_commands() -> None:
    commands = {without_comment(c) for c in readme_commands(README.read_text("utf-8"))}
    assert set(NOT_RUN) <= commands, set(NOT_RUN) - commands


@pytest.mark.slow
def test_every_readme_command_runs_as_written(tmp_path: Path) -> None:
    commands = readme_commands(README.read_text(encoding="utf-8"))
    to_run = [c for c in commands if without_comment(c) not in NOT_RUN]
    assert any(c.startswith("hsctms trial randomise") for c in to_run)
    work = tmp_path / "work"
    work.mkdir()
    shutil.copytree(ROOT / "examples", work / "examples")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "hsctms").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m hsctms "$@"\n',
                                    encoding="utf-8")
    (bin_dir / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n',
                                    encoding="utf-8")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env.setdefault("MPLBACKEND", "Agg")
    for command in to_run:
        proc = subprocess.run(["bash", "-c", command], cwd=work, env=env, input=STDIN,
                              capture_output=True, text=True, timeout=900, check=False)
        assert proc.returncode == 0, (
            f"README command failed (exit {proc.returncode}): {command}\n"
            f"--- stdout ---\n{proc.stdout[-3000:]}\n--- stderr ---\n{proc.stderr[-3000:]}")
    assert (work / "registry.sqlite").exists() and (work / "secret.txt").exists()
