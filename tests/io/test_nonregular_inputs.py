"""Inputs that are not regular files (issue 12, finding 4): a directory, a FIFO or a device
such as ``/dev/zero`` where a bundle file (or a REDCap export) is expected is refused with a
``file-unreadable`` / ``manifest-invalid`` issue *before it is opened for reading*.

Before: a directory gave an ``IsADirectoryError`` traceback, a FIFO without a writer hung
``hsctms validate``/``import`` for ever and ``/dev/zero`` read until memory ran out. The
FIFO and device cases run the CLI in a subprocess with a timeout (a hang fails the test
instead of hanging it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hsctms.errors import DataValidationError
from hsctms.io import validate_bundle
from hsctms.io._parse import FileRefused, read_regular_file

BASE = Path(__file__).resolve().parents[1] / "data" / "bad" / "base"
TIMEOUT = 120

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    out = tmp_path / "bundle"
    shutil.copytree(BASE, out)
    return out


def _replace(path: Path, kind: str) -> None:
    path.unlink()
    if kind == "directory":
        path.mkdir()
        (path / "x.csv").write_text("a\n")
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hsctms", *args], capture_output=True,
                          text=True, timeout=TIMEOUT)


@pytest.mark.parametrize("kind", ["directory", "fifo", "device"])
def test_read_regular_file_refuses_before_reading(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "f.csv"
    target.write_text("x\n")
    _replace(target, kind)
    want = {"directory": "is a directory", "fifo": "is a FIFO",
            "device": "is a character device"}[kind]
    with pytest.raises(FileRefused, match=want):
        read_regular_file(target)  # a FIFO without a writer: refused, no hang


def test_read_regular_file_size_limit(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    target.write_bytes(b"x" * 11)
    assert read_regular_file(target, max_bytes=11) == b"x" * 11
    with pytest.raises(FileRefused, match="larger than 10 bytes"):
        read_regular_file(target, max_bytes=10)


def test_directories_where_files_are_expected(bundle: Path) -> None:
    for name in ("patients.csv", "edss.csv", "bundle.json"):
        _replace(bundle / name, "directory")
    report = validate_bundle(bundle)
    found = {(i.rule, i.file) for i in report.errors}
    assert ("file-unreadable", "patients.csv") in found
    assert ("file-unreadable", "edss.csv") in found
    assert ("manifest-invalid", "bundle.json") in found
    messages = " ".join(i.message for i in report.errors)
    assert "patients.csv is a directory, not a regular file" in messages


def test_cli_validate_and_import_refuse_fifo_and_dev_zero(bundle: Path,
                                                          tmp_path: Path) -> None:
    _replace(bundle / "patients.csv", "fifo")  # no writer: opening it for reading blocks
    _replace(bundle / "edss.csv", "device")  # /dev/zero: endless
    _replace(bundle / "bundle.json", "fifo")
    done = _cli("validate", str(bundle))
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout + done.stderr
    assert "Traceback" not in out
    assert "patients.csv is a FIFO (named pipe), not a regular file" in out
    assert "edss.csv is a character device, not a regular file" in out
    assert "bundle.json is a FIFO (named pipe), not a regular file" in out
    db = tmp_path / "registry.db"
    done = _cli("import", str(bundle), "--db", str(db))
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr
    assert "nothing was imported" in done.stdout + done.stderr
    assert not db.exists()


def test_redcap_source_fifo_and_device_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "records.csv"
    os.mkfifo(fifo)
    code = ("import sys\n"
            "from hsctms.io.redcap import validate_redcap\n"
            "for src in sys.argv[1:]:\n"
            "    print(validate_redcap(src).errors[0].message)\n")
    done = subprocess.run([sys.executable, "-c", code, str(fifo), "/dev/zero"],
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert "records.csv is a FIFO (named pipe), not a regular file" in done.stdout
    assert "zero is a character device, not a regular file" in done.stdout


def test_import_library_refuses_a_directory(bundle: Path, tmp_path: Path) -> None:
    from hsctms.db import import_bundle

    _replace(bundle / "patients.csv", "directory")
    with pytest.raises(DataValidationError, match="validation error"):
        import_bundle(bundle, tmp_path / "registry.db")


#: Every other reader of a file a user names, called on sys.argv[1] (a FIFO or /dev/zero);
#: each must raise its hsctms error naming the kind of file, without reading it.
_READERS = '''
import sys
from pathlib import Path
from hsctms.errors import HsctmsError
from hsctms.model.profile import load_profile
from hsctms.eligibility.engine import load_set
from hsctms.datasets.disease_model import load_model
from hsctms.endpoints.definition import EndpointDefinition
from hsctms.design.trial_config import load_trial_config, read_seed
from hsctms.design.feasibility import load_network
from hsctms.meta.evidence_pool import read_study_table
src = Path(sys.argv[1])
for name, read in [("profile", load_profile), ("criteria", load_set), ("model", load_model),
                   ("definition", EndpointDefinition.from_file), ("trial", load_trial_config),
                   ("seed", read_seed), ("network", load_network),
                   ("studies", read_study_table)]:
    try:
        read(src)
    except HsctmsError as exc:
        print(name, type(exc).__name__, exc.message)
    else:
        print(name, "ACCEPTED")
'''


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_every_named_input_file_refuses_non_regular_files(tmp_path: Path, kind: str) -> None:
    """Profiles (hsctms expect), criteria sets, disease models (demo-data --model), endpoint
    definitions (endpoints --definition), trial config/seed files, feasibility networks and
    study tables (evidence pool): a FIFO hung, /dev/zero exhausted memory, a directory gave
    IsADirectoryError where the reader did not expect it (the network and study-table
    readers called anything but a regular file "not found")."""
    target = tmp_path / "input.yaml"
    target.write_text("x: 1\n")
    _replace(target, kind)
    done = subprocess.run([sys.executable, "-c", _READERS, str(target)], capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    want = {"fifo": "a FIFO (named pipe)", "device": "a character device",
            "directory": "a directory"}[kind]
    lines = done.stdout.splitlines()
    assert len(lines) == 8, done.stdout
    for line in lines:
        assert "ACCEPTED" not in line and want in line, line


def test_cli_expect_refuses_a_fifo_profile(tmp_path: Path) -> None:
    fifo = tmp_path / "profile.json"
    os.mkfifo(fifo)
    done = _cli("expect", str(fifo))
    assert done.returncode != 0 and "Traceback" not in done.stdout + done.stderr
    assert "is a FIFO (named pipe), not a regular file" in done.stdout + done.stderr
