"""Reading a named input file safely: anything but a regular file is refused before reading.

``Path.read_text`` on a FIFO without a writer blocks for ever, on ``/dev/zero`` it reads until
memory runs out, on a directory it raises ``IsADirectoryError``. Every reader of a file a user
names (bundle tables, ``bundle.json``, REDCap exports, profiles, criteria sets, disease models,
endpoint definitions, trial files) goes through :func:`read_regular_file`.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp())
>>> read_regular_file(p)
Traceback (most recent call last):
...
hsctms._files.FileRefused: is a directory, not a regular file
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

__all__ = ["FileRefused", "read_regular_file", "safe_load_yaml"]


class FileRefused(OSError):
    """A named input that is not a regular file (or too large).

    An :class:`OSError`, so readers that already turn "cannot read the file" into an hsctms
    error handle it too; ``reason`` (also ``strerror`` and ``str()``) completes "<file> ...".

    Parameters
    ----------
    reason : str
        Why the file is refused, worded to follow the file name, e.g. ``"is a FIFO (named
        pipe), not a regular file"`` or ``"is larger than 1,000 bytes"``; ``errno`` is
        ``EINVAL``.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(errno.EINVAL, reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def read_regular_file(path: str | os.PathLike[str], *, max_bytes: int | None = None) -> bytes:
    """The bytes of ``path``, refusing anything but a regular file before reading it.

    The file is opened without blocking (a FIFO without a writer would otherwise hang) and
    checked with ``fstat`` on the opened descriptor, so a directory, FIFO, device such as
    ``/dev/zero`` or socket is refused without a single read, and there is no gap between
    the check and the read.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    max_bytes : int, optional
        Refuse files larger than this (at most ``max_bytes + 1`` bytes are read).

    Returns
    -------
    bytes
        The file's content.

    Raises
    ------
    FileRefused
        Not a regular file, or larger than ``max_bytes``.
    OSError
        The file cannot be opened (e.g. ``FileNotFoundError``, ``PermissionError``).
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(Path(path), flags)
    except IsADirectoryError:
        raise FileRefused("is a directory, not a regular file") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((label for test, label in _KINDS if test(mode)), "not a regular file")
            raise FileRefused(f"is {kind}, not a regular file")
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as fh:
        data = fh.read() if max_bytes is None else fh.read(max_bytes + 1)
    if max_bytes is not None and len(data) > max_bytes:
        raise FileRefused(f"is larger than {max_bytes:,} bytes")
    return data


def safe_load_yaml(text: str | bytes) -> Any:
    """``yaml.safe_load`` with libyaml's C parser when PyYAML has it (the same safe types and
    errors, about ten times faster on the evidence base and criteria sets), else the Python one.

    Parameters
    ----------
    text : str or bytes
        A YAML document.

    Returns
    -------
    Any
        The document as Python objects (dicts, lists, str, int, float, bool, None, dates).

    Raises
    ------
    yaml.YAMLError
        When the text is not valid YAML (the same exception classes as ``yaml.safe_load``).

    Examples
    --------
    >>> safe_load_yaml("a: [1, 2.5, x]")
    {'a': [1, 2.5, 'x']}
    """
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)
