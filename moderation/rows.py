"""Rows of a table file (CSV, TSV or JSON Lines), read by one set of rules.

Every command that reads rows goes through :func:`read_rows`: ``score`` and ``parse`` (flat
comment lists), ``evaluate`` and ``train`` (labelled data) and the dataset recipes, so a file
is accepted or refused the same way by each of them. The rules:

* **Kind.** ``.csv`` is CSV; ``.tsv`` and ``.tab`` are TSV; ``.jsonl``, ``.ndjson`` and
  ``.json`` are JSON Lines. Any other name (``.txt``, none, standard input) is told by its
  first line that is not blank: a JSON object means JSON Lines, a tab TSV, a comma CSV. A
  caller may name the kind instead.
* **Text.** Decoded by :mod:`moderation.encoding` (byte-order mark, UTF-16/32, undecodable
  bytes replaced with U+FFFD and counted in ``report.warnings``), chunk by chunk: a table of
  any size streams.
* **Lines.** ``\\n``, ``\\r\\n`` and ``\\r`` end a line; numbers are those an editor shows, and
  a row is numbered by the line it starts on (a quoted CSV field may hold line breaks). Blank
  lines are not rows.
* **CSV and TSV.** The first row is the header; a name in it twice is refused (which column
  would be meant?). Fields are quoted the usual way (``"a, b"``, ``""`` for a quote), unless
  the caller says the file never quotes (a dataset whose texts hold bare quote characters).
  A field may be as long as the file: the csv module's default limit of 128 KiB stopped at a
  long pasted article.
* **Bad lines.** A JSON line that is not valid JSON or not an object, and a CSV or TSV row
  with more or fewer cells than the header (an unquoted comma or line break splits a field),
  are skipped, recorded in ``report.bad`` with their line and what is wrong, and reading goes
  on: a table never loses its good rows to a bad one. Every caller reports them (score and
  parse name them after the good rows, evaluate and train count them in the data summary).
* **Refused whole**, as a :class:`~moderation.errors.ParseError` naming the file: one that
  cannot be opened, an empty one, a CSV or TSV without a column the caller needs, a JSON
  array (JSON Lines holds one object per line; no reader here ever read arrays of rows), and
  a file whose kind neither its name nor its first line tells.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

from moderation.encoding import StreamDecoder, decode, detect
from moderation.errors import ParseError
from moderation.parsers import jsontext
from moderation.thread import json_kind

Kind = Literal["csv", "tsv", "jsonl"]
KINDS_BY_SUFFIX: dict[str, Kind] = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".json": "jsonl",
}
DELIMITERS = {"csv": ",", "tsv": "\t"}
UNFINISHED = "an unfinished last line (a writer stopped mid-line)"

_CHUNK = 64 * 1024
_SNIFF = 64 * 1024
_LINE_END = re.compile(r"\r\n|\r|\n")
_SHOWN = 3  # bad lines a summary names; the others are counted


@dataclass(frozen=True)
class Row:
    """A good row: the line it starts on and its values (strings for CSV/TSV)."""

    line: int
    values: dict[str, Any]


@dataclass(frozen=True)
class BadLine:
    """A skipped line: ``reason`` is short enough to count by, ``detail`` says more."""

    line: int
    reason: str
    detail: str = ""

    @property
    def why(self) -> str:
        return f"{self.reason} ({self.detail})" if self.detail else self.reason

    def __str__(self) -> str:
        return f"line {self.line}: {self.why}"


@dataclass
class RowReport:
    """What reading a table found besides its rows."""

    kind: Kind | None = None
    columns: tuple[str, ...] = ()  # a CSV/TSV header
    bad: list[BadLine] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def bad_summary(self) -> str:
        """``2 row(s) skipped: line 3: ...; line 9: ...``; empty when nothing was skipped."""
        if not self.bad:
            return ""
        more = f" (and {len(self.bad) - _SHOWN} more)" if len(self.bad) > _SHOWN else ""
        return (f"{len(self.bad)} row(s) skipped: "
                f"{'; '.join(map(str, self.bad[:_SHOWN]))}{more}")


def suffix_kind(name: str) -> Kind | None:
    """The kind a file name says (``.txt`` and other names say nothing)."""
    return KINDS_BY_SUFFIX.get(Path(name).suffix.lower())


def first_line(head: bytes) -> str:
    """The first line of an input that is not blank, decoded (empty when there is none)."""
    text = decode(head).text
    return next((line for line in _LINE_END.split(text) if line.strip()), "")


def sniff_kind(head: bytes) -> Kind | None:
    """The kind told by the first line that is not blank: ``{`` JSON Lines, a tab TSV, a comma
    CSV; None for anything else (binary data, one column, no lines)."""
    line = first_line(head).strip()
    if not line or "\x00" in line:
        return None
    if line.startswith("{"):
        return "jsonl"
    if "\t" in line:
        return "tsv"
    return "csv" if "," in line else None


def header_cells(line: str, kind: Kind) -> list[str]:
    """A CSV/TSV header line split into its names ([] when it cannot be split)."""
    try:
        return next(csv.reader([line], delimiter=DELIMITERS[kind]), [])
    except csv.Error:  # a NUL byte, say: not a header
        return []


def read_rows(
    source: str | os.PathLike[str] | BinaryIO,
    kind: Kind | None = None,
    *,
    name: str | None = None,
    require: Sequence[str] = (),
    hint: str = "",
    quotes: bool = True,
    report: RowReport | None = None,
) -> Iterator[Row]:
    """The good rows of a table, in order; bad lines go to ``report.bad`` (see the module
    docstring for every rule).

    ``source`` is a path or a binary stream (then ``name`` names it in messages). ``require``
    names the columns a CSV/TSV must have; ``hint`` says how to name another (``--text-field``).
    """
    report = report if report is not None else RowReport()
    if isinstance(source, (str, os.PathLike)):
        name = name or os.fspath(source)
        try:
            stream: BinaryIO = open(source, "rb")  # noqa: SIM115 - closed by the `with` below
        except OSError as exc:
            raise ParseError(name, f"cannot open: {exc.strerror or exc}") from None
        with stream:
            yield from _read(stream, name, kind, require, hint, quotes, report)
    else:
        yield from _read(source, name or "<stream>", kind, require, hint, quotes, report)


def _read(stream: BinaryIO, name: str, kind: Kind | None, require: Sequence[str], hint: str,
          quotes: bool, report: RowReport) -> Iterator[Row]:
    head = stream.read(_SNIFF)
    kind = kind or suffix_kind(name) or sniff_kind(head)
    if kind is None:
        raise ParseError(name, "cannot tell whether this is CSV, TSV or JSON Lines from its name "
                         "or its first line; use .csv, .tsv or .jsonl")
    report.kind = kind
    decoder = StreamDecoder(detect(head))
    lines = _Lines(stream, head, decoder)
    if kind == "jsonl":
        yield from _json_rows(lines, name, report)
    else:
        yield from _table_rows(lines, name, kind, require, hint, quotes, report)
    report.warnings.extend(decoder.warnings())


class _Lines:
    """The decoded lines of an input with their line ends, counted as they are handed out.

    Linear in the input however long a line is: an unfinished line is kept as parts, and each
    chunk is scanned once."""

    def __init__(self, stream: BinaryIO, head: bytes, decoder: StreamDecoder) -> None:
        self.stream = stream
        self.head = head
        self.decoder = decoder
        self.number = 0  # lines handed out so far

    def __iter__(self) -> Iterator[str]:
        parts: list[str] = []  # the unfinished line
        carry = ""
        data = self.head
        while True:
            final = not data
            text = carry + self.decoder.decode(data, final=final)
            carry = ""
            if not final and text.endswith("\r"):  # maybe the first half of "\r\n"
                text, carry = text[:-1], "\r"
            start = 0
            for match in _LINE_END.finditer(text):
                parts.append(text[start:match.end()])
                self.number += 1
                yield "".join(parts)
                parts = []
                start = match.end()
            if start < len(text):
                parts.append(text[start:])
            if final:
                if parts:
                    self.number += 1
                    yield "".join(parts)
                return
            data = self.stream.read(_CHUNK)


def _json_rows(lines: _Lines, name: str, report: RowReport) -> Iterator[Row]:
    replaced = 0
    seen_any = False
    for line in lines:
        text = line.strip()
        if not text:
            continue
        number = lines.number
        if not seen_any and text.startswith("["):
            raise ParseError(name, "a JSON array, not JSON Lines: write one JSON object per line",
                             line=number)
        seen_any = True
        try:
            value, surrogates = jsontext.loads(text)
        except json.JSONDecodeError as exc:
            if not line.endswith(("\n", "\r")):  # only the last line can lack its line end
                report.bad.append(BadLine(number, UNFINISHED))
            else:
                report.bad.append(BadLine(number, "not valid JSON",
                                          f"{exc.msg} at column {exc.colno}"))
            continue
        if not isinstance(value, dict):
            report.bad.append(BadLine(number, "not a JSON object",
                                      f"{json_kind(value)}; one object per line"))
            continue
        replaced += surrogates
        yield Row(number, value)
    if not seen_any:
        raise ParseError(name, "the file is empty")
    if replaced:
        report.warnings.append(jsontext.surrogate_warning(replaced))


def _table_rows(lines: _Lines, name: str, kind: Kind, require: Sequence[str], hint: str,
                quotes: bool, report: RowReport) -> Iterator[Row]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    delimiter = DELIMITERS[kind]
    reader = csv.reader(iter(lines), delimiter=delimiter,
                        quoting=csv.QUOTE_MINIMAL if quotes else csv.QUOTE_NONE)
    header: list[str] | None = None
    start = 1
    while True:
        try:
            cells = next(reader, None)
        except csv.Error as exc:
            report.bad.append(BadLine(start, f"unreadable {kind.upper()}", str(exc)))
            start = lines.number + 1
            continue
        if cells is None:
            break
        line, start = start, lines.number + 1
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue  # a blank line
        if header is None:
            header = cells
            _check_header(header, name, line, require, hint)
            report.columns = tuple(header)
            continue
        if len(cells) != len(header):
            where = "a tab" if kind == "tsv" else "a comma"
            report.bad.append(BadLine(line, "wrong number of cells",
                                      f"{len(cells)} where the header has {len(header)}; quote "
                                      f"any field that holds {where} or a line break"))
            continue
        yield Row(line, dict(zip(header, cells, strict=True)))  # lengths checked above
    if header is None:
        raise ParseError(name, "the file is empty")


def _check_header(header: list[str], name: str, line: int, require: Sequence[str],
                  hint: str) -> None:
    named = [column for column in header if column]
    twice = sorted({column for column in named if named.count(column) > 1})
    if twice:
        raise ParseError(name, f"the header names {', '.join(map(repr, twice))} more than once; "
                         "rename one of them", line=line)
    missing = [column for column in require if column not in header]
    if missing:
        columns = ", ".join(header[:10]) + (", ..." if len(header) > 10 else "")
        names = " or ".join(map(repr, missing))
        raise ParseError(name, f"no {names} column{'s' if len(missing) > 1 else ''} "
                         f"(columns: {columns})" + (f"; {hint}" if hint else ""))
