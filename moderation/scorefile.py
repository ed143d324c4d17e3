"""The file ``moderation score`` writes: one record per scored text, JSONL or CSV.

Records are appended a chunk at a time, each chunk in one ``write`` followed by ``fsync``, so a
stopped run leaves whole records behind. (``moderation score`` also turns SIGTERM and Ctrl-C
into a stop between chunks; only a SIGKILL or power cut landing inside the write itself could
leave a partial last record, and resuming removes it.)

Resuming counts the complete records, cuts the file back to the last multiple of the chunk size
(see :mod:`moderation.batch` for why) and hands those records back to be replayed.

Records (:class:`~moderation.record.ScoredRecord`) are written in their JSON or CSV form (see
:mod:`moderation.record`); resuming reads them back through the same type.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import os
import signal
import stat
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from moderation.errors import ModerationError
from moderation.record import ScoredRecord
from moderation.scoring_config import DEFAULT_CHUNK

FORMATS = ("jsonl", "csv")
_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                      if hasattr(signal, name))


class _Guard:
    """Whether a chunk is being written, and whether a stop came in meanwhile."""

    writing = False
    stop_pending = False


@contextlib.contextmanager
def stop_between_writes() -> Iterator[None]:
    """Within the block, Ctrl-C, SIGTERM and SIGHUP raise KeyboardInterrupt at once, except
    during a chunk's write, which they let finish first. (Main thread only.)"""
    def stop(signum: int, frame: object) -> None:
        if _Guard.writing:
            _Guard.stop_pending = True
        else:
            raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, stop) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _Guard.stop_pending = False


def format_records(records: Sequence[ScoredRecord], fmt: str, labels: Sequence[str]) -> bytes:
    """``records`` as the lines of a JSONL or CSV file (without the CSV header)."""
    if fmt == "jsonl":
        return "".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    return "".join(_csv_line(r.csv_row(labels)) for r in records).encode("utf-8")


def _csv_line(cells: Sequence[Any]) -> str:
    buffer = io.StringIO()
    # The writer quotes a cell holding a line break only if it is in the line terminator: with
    # "\n" alone a lone "\r" went out bare and readers split the row there. Rows still end in "\n".
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()[:-2] + "\n"




@dataclass
class Resume:
    """What an earlier run left: ``kept`` records to replay, ``rescored`` complete records cut
    to align with a chunk boundary, and whether a partial last record was removed."""

    kept: int = 0
    rescored: int = 0
    partial: bool = False
    records: Iterator[ScoredRecord] = field(default_factory=lambda: iter(()))


class RecordWriter:
    """Appends chunks of records to a file (or standard output) as whole records.

    The file is created, emptied or (resuming) cut back only by :meth:`start`, which the first
    :meth:`append` calls: a run in which every input failed leaves an earlier output as it was.
    A device or FIFO (``-o /dev/null``) is written to as it is.
    """

    def __init__(self, path: str, fmt: str, labels: Sequence[str], *, resume: bool = False,
                 chunk: int = DEFAULT_CHUNK) -> None:
        if fmt not in FORMATS:
            raise ModerationError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
        self.path, self.fmt, self.labels = path, fmt, list(labels)
        self.resume = Resume()
        self._resuming = resume
        self._fd = -1
        self._started = self._sync = False
        self._stdout = path == "-"
        self._aligned: int | None = None  # resuming: where the earlier output is cut back to
        if self._stdout:
            if resume:
                raise ModerationError("--resume needs an output file (-o FILE), not standard output")
            return
        if resume and os.path.exists(path):
            if not stat.S_ISREG(os.stat(path).st_mode):
                raise ModerationError(f"--resume needs a regular output file; {path} is not one")
            self.resume = self._scan(chunk)

    def start(self) -> None:
        """Create or empty the output (resuming: cut it back to a chunk boundary); once."""
        if self._started:
            return
        self._started = True
        if self._stdout:
            self._write_header_if_new(True)
            return
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        # 0o666: the umask decides a new file's mode, as for any Unix tool; an existing file
        # keeps its own.
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | (0 if self._resuming else os.O_TRUNC)
        self._fd = os.open(self.path, flags, 0o666)
        self._sync = stat.S_ISREG(os.fstat(self._fd).st_mode)  # fsync fails on a device or FIFO
        if self._aligned is not None:
            os.ftruncate(self._fd, self._aligned)
        self._write_header_if_new(os.fstat(self._fd).st_size == 0)  # a device's or FIFO's is 0

    def _write_header_if_new(self, new: bool) -> None:
        if new and self.fmt == "csv":
            self._write(_csv_line(ScoredRecord.csv_header(self.labels)).encode("utf-8"))

    def append(self, records: Sequence[ScoredRecord]) -> None:
        if records:
            self.start()
            self._write(format_records(records, self.fmt, self.labels))

    def _write(self, data: bytes) -> None:
        if self._stdout:
            sys.stdout.write(data.decode("utf-8"))
            sys.stdout.flush()
            return
        _Guard.writing = True
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view):]
            if self._sync:
                os.fsync(self._fd)
        finally:
            _Guard.writing = False
        if _Guard.stop_pending:
            _Guard.stop_pending = False
            raise KeyboardInterrupt

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _scan(self, chunk: int) -> Resume:
        """Count complete records, note the chunk boundary to cut back to (:meth:`start` cuts),
        and open the records before it for replay."""
        count = 0
        header: bytes | None = None  # CSV: the header record, once complete
        header_buf = b""
        aligned = complete = 0  # byte offsets: after the last aligned record, the last whole one
        open_quote = False  # CSV: a quoted field goes on over the next line
        with open(self.path, "rb") as handle:
            offset = 0
            for line in handle:
                offset += len(line)
                if not line.endswith(b"\n"):
                    break
                if self.fmt == "csv":
                    open_quote ^= line.count(b'"') % 2 == 1
                    if header is None:
                        header_buf += line
                    if open_quote:
                        continue
                    if header is None:
                        header, aligned, complete = header_buf, offset, offset
                        continue
                count += 1
                complete = offset
                if count % chunk == 0:
                    aligned = offset
        if header is not None:
            columns = next(csv.reader([header.decode("utf-8", "replace")]), [])
            if columns != ScoredRecord.csv_header(self.labels):
                raise ModerationError(
                    f"{self.path}: its score columns are not this model's labels "
                    f"({', '.join(self.labels)}); run without --resume")
        kept = count - count % chunk
        partial = complete < os.path.getsize(self.path)
        self._aligned = aligned
        return Resume(kept=kept, rescored=count - kept, partial=partial,
                      records=itertools.islice(self._replay(), kept))

    def _replay(self) -> Iterator[ScoredRecord]:
        records = self._csv_records() if self.fmt == "csv" else self._jsonl_records()
        for number, record in enumerate(records, 1):
            if list(record.scores or {}) != self.labels:
                raise ModerationError(
                    f"{self.path}: record {number} has scores for other labels than this "
                    f"model's ({', '.join(self.labels)}); run without --resume")
            yield record

    def _damaged(self, line: int) -> ModerationError:
        return ModerationError(
            f"{self.path}, line {line}: not a whole record (the file was damaged there); to resume, "
            "cut the file just before that line, or run without --resume to score everything again")

    def _jsonl_records(self) -> Iterator[ScoredRecord]:
        # Lines split on "\n" only: a JSON line may hold U+2028 or other characters some readers
        # split on.
        with open(self.path, "rb") as handle:
            for number, line in enumerate(handle, 1):
                try:
                    record = ScoredRecord.from_json(json.loads(line.decode("utf-8")))
                except ValueError:
                    raise self._damaged(number) from None
                yield record

    def _csv_records(self) -> Iterator[ScoredRecord]:
        with open(self.path, encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            try:
                next(reader, None)
                for row in reader:
                    yield ScoredRecord.from_csv_row(row, self.labels)
            except (ValueError, IndexError, csv.Error) as exc:
                raise self._damaged(reader.line_num) from exc
