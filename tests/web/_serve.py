"""Run the real ``hsctms serve`` in a subprocess for tests that must go through the network.

In-process tests (``TestClient``) cover the application; these cover what only a running
server shows: the CLI's uvicorn settings (``proxy_headers=False``, one worker), real
concurrent connections and the client address the login limiter sees.

>>> with running_server(db_path) as base:        # doctest: +SKIP
...     httpx.get(base + "/login")
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

SECRET = "s" * 48


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(db: Path | str, *, extra_args: Sequence[str] = (),
                   env: dict[str, str] | None = None,
                   timeout: float = 60.0) -> Iterator[str]:
    """Start ``python -m hsctms serve --db DB --insecure-cookies`` and yield its base URL.

    The server is stopped (SIGTERM, then SIGKILL) when the block ends; its output is kept
    in a log file beside the database and shown if it does not come up in ``timeout`` s.
    """
    port = free_port()
    log_path = Path(tempfile.gettempdir()) / f"hsctms-serve-{port}.log"
    full_env = {**os.environ, "HSCTMS_SECRET_KEY": SECRET, **(env or {})}
    cmd = [sys.executable, "-m", "hsctms", "serve", "--db", str(db), "--port", str(port),
           "--insecure-cookies", *extra_args]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=full_env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"hsctms serve exited ({proc.returncode}):\n"
                                   + log_path.read_text(errors="replace"))
            try:
                httpx.get(base + "/login", timeout=2.0)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("hsctms serve did not start:\n"
                                       + log_path.read_text(errors="replace")) from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def login(client: httpx.Client, base: str, username: str, password: str) -> httpx.Response:
    """Log ``client`` in through the login form (reads the CSRF token from the page)."""
    import re

    page = client.get(base + "/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    data = {"username": username, "password": password}
    if match:
        data["csrf_token"] = match.group(1)
    return client.post(base + "/login", data=data)
