"""Waiting for a `moderation serve` started by a test as a real process on loopback."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest


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
