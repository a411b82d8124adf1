"""Output directories that a command owns: nothing lost, nothing hidden.

A command that writes a *directory* of outputs (``hsctms demo --out DIR``) writes only into

* a new directory (created), or an existing **empty** one; or
* a directory it wrote itself earlier, recognised by its marker file ``.hsctms-output.json``
  listing every file it wrote with its SHA-256.

On a re-run it deletes exactly the files listed in the marker, and only if they are unchanged;
a listed file that was modified is refused (the user may have worked on it). Files the user
added are never touched: they survive the re-run, unless one has the name of a new output,
which is refused too. A non-empty directory without a valid marker is refused. Nothing is
ever removed recursively.

A command that writes single *files* (``--out report.html``, ``--json result.json``,
``--forest plot.svg``, ``--events events.csv``) goes through :class:`OutputFile`: the file
is written only if it is new, or if the same command wrote it earlier and it is unchanged
since (listed with its SHA-256 in ``.hsctms-files.json`` beside it); it is written to a
temporary file and moved into place when complete, and commands check their output paths
before the work starts.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hsctms.errors import ConfigurationError

MARKER = ".hsctms-output.json"


def sha256(path: Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class OutputDirectory:
    """A directory owned by one command (see the module docstring).

    Parameters
    ----------
    path
        The output directory.
    command
        The command that owns it, e.g. ``"hsctms demo"`` (recorded in the marker; a directory
        written by another command is foreign).
    """

    def __init__(self, path: Path, *, command: str) -> None:
        self.path = Path(path)
        self.command = command
        self.files: dict[str, str | None] = {}
        self.dirs: list[str] = []

    # -- set-up ---------------------------------------------------------------------------
    def _refuse(self, why: str) -> ConfigurationError:
        return ConfigurationError(
            f"Refusing to write into {self.path}: {why}. Nothing was changed.",
            hint=f"Choose another --out (a new or empty directory); {self.command} only "
            "writes into a directory it created itself.")

    def _read_marker(self) -> dict[str, Any] | None:
        marker = self.path / MARKER
        if not marker.is_file():
            return None
        try:
            doc = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return None
        if (not isinstance(doc, dict) or doc.get("written_by") != self.command
                or not isinstance(doc.get("files"), dict)
                or not isinstance(doc.get("dirs"), list)):
            return None
        for rel in [*doc["files"], *doc["dirs"]]:
            if not isinstance(rel, str) or not self._inside(rel):
                return None
        return doc

    def _inside(self, rel: str) -> bool:
        parts = Path(rel).parts
        return bool(parts) and not Path(rel).is_absolute() and ".." not in parts

    def prepare(self) -> None:
        """Create the directory or clean up this command's earlier output in it.

        Raises
        ------
        ConfigurationError
            The path is a file; the directory is not empty and was not written by this
            command; or a file this command wrote was changed since (nothing is deleted).
        """
        if self.path.is_symlink() or (self.path.exists() and not self.path.is_dir()):
            raise self._refuse("it exists and is not a directory")
        if not self.path.exists():
            self.path.mkdir(parents=True)
            self._save()
            return
        doc = self._read_marker()
        if doc is None:
            if any(self.path.iterdir()):
                raise self._refuse(f"it is not empty and was not written by {self.command} "
                                   f"(no valid {MARKER})")
            self._save()
            return
        for p in self._own_unchanged_files(doc["files"]):
            p.unlink()  # every check passed: delete exactly the listed, unchanged files
        self.dirs = self._remove_empty_dirs(doc["dirs"])
        self._save()

    def _own_unchanged_files(self, files: dict[str, Any]) -> list[Path]:
        """The files of an earlier run that still exist, each checked unchanged.

        Raises
        ------
        ConfigurationError
            One of them was replaced or changed since this command wrote it.
        """
        doomed: list[Path] = []
        for rel, digest in files.items():
            p = self.path / rel
            if not p.exists() and not p.is_symlink():
                continue
            if p.is_symlink() or not p.is_file() or (
                    digest is not None and sha256(p) != digest):
                raise self._refuse(f"{p} changed since {self.command} wrote it (move it "
                                   "away if you want to keep it)")
            doomed.append(p)
        return doomed

    def _remove_empty_dirs(self, dirs: list[str]) -> list[str]:
        """Remove the earlier run's directories, deepest first; the non-empty ones are kept.

        Returns
        -------
        list of str
            The directories kept (sorted), because the user put files there.
        """
        kept: list[str] = []
        for rel in sorted(dirs, key=lambda r: len(Path(r).parts), reverse=True):
            d = self.path / rel
            if d.is_dir() and not d.is_symlink():
                if any(d.iterdir()):
                    kept.append(rel)  # the user put files there: keep them
                else:
                    d.rmdir()
        return sorted(kept)

    # -- writing --------------------------------------------------------------------------
    def claim(self, rel: str) -> Path:
        """The path of a new output file ``rel``; refused if a file is already there.

        The name is recorded (as pending) before the file is written, so a run that crashes
        half-way can still be cleaned up by the next one.
        """
        p = self.path / rel
        if p.exists() or p.is_symlink():
            raise self._refuse(f"{p} exists and was not written by {self.command}")
        self._mkdirs(Path(rel).parent)
        self.files[rel] = None
        self._save()
        return p

    def claim_dir(self, rel: str) -> Path:
        """A new output sub-directory (must not exist yet), whose files are then recorded
        with :meth:`record_tree`."""
        d = self.path / rel
        if d.exists() or d.is_symlink():
            raise self._refuse(f"{d} exists and was not written by {self.command}")
        self._mkdirs(Path(rel))
        return d

    def done(self, rel: str) -> None:
        """Record the checksum of output ``rel`` once written."""
        p = self.path / rel
        self.files[rel] = sha256(p) if p.is_file() else None
        self._save()

    def record_tree(self, rel: str) -> None:
        """Record every file under sub-directory ``rel`` (created by :meth:`claim_dir`)."""
        base = self.path / rel
        for p in sorted(base.rglob("*")):
            r = p.relative_to(self.path).as_posix()
            if p.is_dir():
                if r not in self.dirs:
                    self.dirs.append(r)
            else:
                self.files[r] = sha256(p)
        self._save()

    def record_all(self) -> None:
        """Record every file and directory now in the output directory (for a directory
        that held nothing but the marker before the command wrote it)."""
        for p in sorted(self.path.rglob("*")):
            r = p.relative_to(self.path).as_posix()
            if r in (MARKER, MARKER + ".tmp"):
                continue
            if p.is_dir():
                if r not in self.dirs:
                    self.dirs.append(r)
            else:
                self.files[r] = sha256(p)
        self._save()

    def _mkdirs(self, rel: Path) -> None:
        made = []
        for parent in [*reversed(rel.parents), rel]:
            if str(parent) in ("", "."):
                continue
            d = self.path / parent
            if not d.exists():
                d.mkdir()
                made.append(parent.as_posix())
            elif not d.is_dir() or d.is_symlink():
                raise self._refuse(f"{d} is not a directory written by {self.command}")
            elif parent.as_posix() not in self.dirs and parent.as_posix() not in made:
                raise self._refuse(f"{d} exists and was not written by {self.command}")
        self.dirs.extend(m for m in made if m not in self.dirs)

    def _save(self) -> None:
        doc = {"written_by": self.command,
               "note": "Files written by this command; a re-run deletes exactly these "
               "(if unchanged) and nothing else.",
               "files": self.files, "dirs": sorted(self.dirs)}
        tmp = self.path / (MARKER + ".tmp")
        tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.path / MARKER)


def prepare_bundle_dir(path: Path, *, command: str) -> OutputDirectory:
    """An owned directory for a whole CSV bundle (written by a library function that names
    the files itself): after clean-up it must hold nothing but the marker, so no file of the
    user's can be overwritten. Call :meth:`OutputDirectory.record_all` after writing."""
    owned = OutputDirectory(path, command=command)
    owned.prepare()
    others = sorted(p.name for p in owned.path.iterdir() if p.name != MARKER)
    if others:
        raise owned._refuse(f"it holds files {command} did not write ({', '.join(others)})")
    return owned


# -- single output files ------------------------------------------------------------------
#: Marker, beside single output files (``--out report.html``, ``--json result.json``), that
#: lists the files hsctms commands wrote in that directory with their SHA-256.
FILES_MARKER = ".hsctms-files.json"


def _current_command() -> str:
    """``"hsctms analyse"`` etc.: the running Click command path (``"hsctms"`` outside one)."""
    import importlib

    ctx = None
    # Typer >= 0.2x runs commands on its own copy of Click (typer._click); older ones on Click
    for module in ("typer._click.globals", "click.globals"):
        try:
            ctx = importlib.import_module(module).get_current_context(silent=True)
        except ImportError:
            continue
        if ctx is not None:
            break
    if ctx is None:
        return "hsctms"
    path = ctx.command_path.split()
    return " ".join(["hsctms", *path[1:]])


class OutputFile:
    """One output file of a command: written only if new, or if this command wrote it
    earlier and it is unchanged since.

    The directory of the file gets a small marker, :data:`FILES_MARKER`, listing what
    hsctms commands wrote there (name, command, SHA-256). A file that is not listed, was
    written by another command, or was changed since is refused: nothing is overwritten
    that the user may own. The file is written to a temporary name beside it and moved into
    place only when complete, so a failed run leaves the old file as it was.

    Parameters
    ----------
    path
        The output file the user asked for.
    command
        The owning command (default: the running Click command, e.g. ``"hsctms analyse"``).
    """

    def __init__(self, path: Path | str, *, command: str | None = None) -> None:
        self.path = Path(path)
        self.command = command or _current_command()

    def _refuse(self, why: str) -> ConfigurationError:
        return ConfigurationError(
            f"Refusing to write {self.path}: {why}. Nothing was changed.",
            hint=f"Choose another file name, or move the existing file away yourself; "
            f"{self.command} only replaces a file it wrote itself (listed, unchanged, in "
            f"{FILES_MARKER} beside it).")

    def _ledger(self) -> dict[str, dict[str, str]]:
        marker = self.path.parent / FILES_MARKER
        try:
            doc = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return {}
        files = doc.get("files") if isinstance(doc, dict) else None
        if not isinstance(files, dict):
            return {}
        return {k: v for k, v in files.items() if isinstance(v, dict)
                and isinstance(v.get("sha256"), str) and isinstance(v.get("written_by"), str)}

    def check(self) -> None:
        """Refuse now (before any long work) if the file may not be written.

        Raises
        ------
        ConfigurationError
            The path is a directory or a symbolic link, or an existing file this command
            did not write, or changed since it wrote it.
        """
        p = self.path
        if p.is_symlink():
            raise self._refuse("it is a symbolic link")
        if p.is_dir():
            raise self._refuse("it is a directory")
        if not p.exists():
            return
        if not p.is_file():
            raise self._refuse("it exists and is not a regular file")
        entry = self._ledger().get(p.name)
        if entry is None:
            raise self._refuse("the file exists and was not written by hsctms")
        if entry["written_by"] != self.command:
            raise self._refuse(f"the file was written by {entry['written_by']}, "
                               f"not {self.command}")
        if sha256(p) != entry["sha256"]:
            raise self._refuse(f"the file changed since {self.command} wrote it")

    @contextmanager
    def writing(self) -> Iterator[Path]:
        """Yield a temporary path (same directory and suffix) to write the output to; on
        success it replaces :attr:`path` (checked again) and is recorded in the marker."""
        self.check()
        parent = self.path.parent
        parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=parent, prefix=f".{self.path.name}.",
                                    suffix=f".tmp{self.path.suffix}")
        os.close(fd)
        tmp = Path(name)
        try:
            yield tmp
            if not tmp.is_file():
                raise ConfigurationError(f"{self.command} did not write {self.path}.",
                                         hint="Report this as a bug.")
            self.check()
            os.chmod(tmp, _new_file_mode())  # mkstemp made it owner-only (0600)
            os.replace(tmp, self.path)
        finally:
            if tmp.exists():
                tmp.unlink()
        self._record()

    def _record(self) -> None:
        files = self._ledger()
        files[self.path.name] = {"written_by": self.command, "sha256": sha256(self.path)}
        doc = {"note": "Files written by hsctms commands in this directory; a command "
               "replaces only a file it wrote itself and that is unchanged since.",
               "files": dict(sorted(files.items()))}
        marker = self.path.parent / FILES_MARKER
        fd, name = tempfile.mkstemp(dir=self.path.parent, prefix=f"{FILES_MARKER}.",
                                    suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(doc, indent=2) + "\n")
        os.chmod(name, _new_file_mode())
        os.replace(name, marker)


def _new_file_mode() -> int:
    """The permissions a file created with ``open(path, "w")`` would get (0666 less the
    process umask): outputs are moved into place from owner-only temporary files, and a
    report must be readable as any other file the user writes."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def check_output_files(*paths: Path | str | None) -> None:
    """Refuse early (before the work) any given output file the command may not write."""
    for p in paths:
        if p is not None:
            OutputFile(p).check()


def write_output(path: Path | str, writer: Callable[[Path], object]) -> Path:
    """Write one output file through :class:`OutputFile`: ``writer(tmp_path)`` writes it."""
    out = OutputFile(path)
    with out.writing() as tmp:
        writer(tmp)
    return out.path
