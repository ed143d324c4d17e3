"""`moderation serve` started by a test as a real process on loopback."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_ready(process: subprocess.Popen[bytes] | subprocess.Popen[str], url: str,
                     log: Path, timeout: float = 120.0, path: str = "/healthz") -> None:
    """Return once ``url + path`` answers 200; fail the test with the server's log if the
    process exits first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            pytest.fail(f"the server exited: {log.read_text()}")
        try:
            if httpx.get(f"{url}{path}", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the server did not start within {timeout:.0f} s: {log.read_text()}")
        time.sleep(0.3)


@contextmanager
def serving(command: Sequence[str], *, cwd: Path, env: Mapping[str, str], log: Path,
            timeout: float = 120.0, ready: str = "/healthz") -> Iterator[str]:
    """Run ``command`` (a ``serve`` command line without ``--port``) on a free port, its output
    in ``log``; yield its URL once ``ready`` answers, and stop it (killed after 30 s) on exit."""
    port = free_port()
    with open(log, "w") as out:
        process = subprocess.Popen([*command, "--port", str(port)], cwd=cwd, env=dict(env),
                                   stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_ready(process, url, log, timeout=timeout, path=ready)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
