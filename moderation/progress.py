"""A one-line progress bar on standard error, shown only on a terminal.

``comments done/total, comments per second, ETA``. The total is counted in a background thread
(parsing is far cheaper than scoring), so scoring starts at once and the ETA appears when the
count is known; standard input cannot be read twice, so with ``-`` there is no total.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TextIO

REDRAW_SECONDS = 0.25
WIDTH = 24


class Progress:
    def __init__(self, stream: TextIO, enabled: bool, start: int = 0) -> None:
        self.stream = stream
        self.enabled = enabled
        self.done = start
        self.total: int | None = None
        self._start_count = start
        self._started = time.monotonic()
        self._drawn = 0.0
        self._visible = False

    def count_in_background(self, count: Callable[[], int]) -> None:
        if not self.enabled:
            return

        def run() -> None:
            try:
                self.total = count()
            except Exception:  # noqa: BLE001 - a failed count only costs the ETA
                self.total = None

        threading.Thread(target=run, name="count-comments", daemon=True).start()

    def advance(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and now - self._drawn >= REDRAW_SECONDS:
            self._drawn = now
            self._draw(now)

    def line(self, now: float | None = None) -> str:
        elapsed = max((now or time.monotonic()) - self._started, 1e-9)
        rate = (self.done - self._start_count) / elapsed
        total = self.total
        if total is None or total < self.done:
            return f"{self.done:,} comments  {rate:,.0f}/s"
        filled = int(WIDTH * self.done / total) if total else WIDTH
        eta = (total - self.done) / rate if rate > 0 else 0.0
        minutes, seconds = divmod(int(eta), 60)
        hours, minutes = divmod(minutes, 60)
        return (f"[{'#' * filled}{'.' * (WIDTH - filled)}] {self.done:,}/{total:,} comments  "
                f"{rate:,.0f}/s  ETA {hours:d}:{minutes:02d}:{seconds:02d}")

    def _draw(self, now: float) -> None:
        self.stream.write("\r\x1b[K" + self.line(now))
        self.stream.flush()
        self._visible = True

    def clear(self) -> None:
        """Erase the bar (before another message is written to the same stream)."""
        if self._visible:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._visible = False

    def message(self, text: str) -> None:
        self.clear()
        self.stream.write(text + "\n")
        self.stream.flush()
