"""One row reader: the same file gives the same rows and the same decisions in ``score``,
``parse``, the labelled-data loader (``evaluate``, ``train``) and the recipe reader."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

import pytest

from moderation.batch import Failure, Item, Skipped, read_inputs
from moderation.errors import DataError, ModerationError
from moderation.labelled import LoadReport, load_labelled
from moderation.parsers import parse_file
from moderation.rows import RowReport, read_rows
from moderation.scoring_config import InputOptions
from training.recipes.base import read_table

BOM = b"\xef\xbb\xbf"
CSV = "text,hostility\nthe tide is out,0\n\"a fool, truly\",1\n"
TSV = CSV.replace(",", "\t").replace('"a fool\t truly"', "a fool, truly")
JSONL = '{"text": "the tide is out", "hostility": 0}\n{"text": "a fool, truly", "hostility": 1}\n'
TEXTS = ["the tide is out", "a fool, truly"]


@dataclass(frozen=True)
class Outcome:
    """What a reader made of a file: refused, or its texts and the lines it skipped."""

    refused: bool
    texts: tuple[str, ...] = ()
    bad_lines: int = 0
    first_bad: int | None = None


# name, content, what every reader must make of it
CASES: list[tuple[str, bytes, Outcome]] = [
    ("plain.csv", CSV.encode(), Outcome(False, tuple(TEXTS))),
    ("plain.tsv", TSV.encode(), Outcome(False, tuple(TEXTS))),
    ("plain.tab", TSV.encode(), Outcome(False, tuple(TEXTS))),
    ("tabs.txt", TSV.encode(), Outcome(False, tuple(TEXTS))),
    ("commas.txt", CSV.encode(), Outcome(False, tuple(TEXTS))),
    ("plain.jsonl", JSONL.encode(), Outcome(False, tuple(TEXTS))),
    ("bom.csv", BOM + CSV.encode(), Outcome(False, tuple(TEXTS))),
    ("bom.jsonl", BOM + JSONL.encode(), Outcome(False, tuple(TEXTS))),
    ("wide.tsv", TSV.encode("utf-16"), Outcome(False, tuple(TEXTS))),
    ("wide.csv", CSV.encode("utf-16-be"), Outcome(False, tuple(TEXTS))),  # no BOM: NUL bytes tell
    ("crlf.csv", CSV.replace("\n", "\r\n").encode(), Outcome(False, tuple(TEXTS))),
    ("multiline.csv", b'text,hostility\n"two\nlines",0\nafter,1\n',
     Outcome(False, ("two\nlines", "after"))),
    ("bad-json.jsonl", (JSONL.splitlines()[0] + '\n{"text": oops}\n["a list"]\n'
                        + JSONL.splitlines()[1] + "\n{\"text\": \"cut").encode(),
     Outcome(False, tuple(TEXTS), bad_lines=3, first_bad=2)),
    ("ragged.csv", b"text,hostility\nthe tide is out,0\nan, unquoted comma,1\nshort\n"
                   b'"a fool, truly",1\n',
     Outcome(False, tuple(TEXTS), bad_lines=2, first_bad=3)),
    ("invalid-utf8.csv", b"text,hostility\ncaf\xe9 noir,0\n", Outcome(False, ("caf\ufffd noir",))),
    ("empty.csv", b"", Outcome(True)),
    ("blank.tsv", b"\n \n", Outcome(True)),
    ("array.json", b'[{"text": "the tide is out", "hostility": 0}]\n', Outcome(True)),
    ("twice.csv", b"text,text,hostility\na,b,1\n", Outcome(True)),
    ("no-text.csv", b"comment,hostility\nhello,1\n", Outcome(True)),
]


def _score(path: Path) -> Outcome:
    events = list(read_inputs([str(path)], InputOptions()))
    items = [e for e in events if isinstance(e, Item)]
    skipped = [int(e.id.split()[1]) for e in events if isinstance(e, Skipped)]
    if not items and not skipped and any(isinstance(e, Failure) for e in events):
        return Outcome(True)
    return Outcome(False, tuple(i.comment.text for i in items), len(skipped),
                   skipped[0] if skipped else None)


def _parse(path: Path) -> Outcome:
    texts: list[str] = []
    threads = parse_file(path)
    try:
        for thread in threads:
            texts += [c.text for c in thread.comments]
    except ModerationError as exc:
        if not texts:
            return Outcome(True)
        # "2 row(s) skipped: line 3: ...; line 5: ..."
        why = str(exc).split(": ", 1)[1]
        return Outcome(False, tuple(texts), int(why.split()[0]), int(why.split("line ")[1].split(":")[0]))
    return Outcome(False, tuple(texts))


def _labelled(path: Path) -> Outcome:
    report = LoadReport()
    try:
        examples = load_labelled(path, report=report)
    except DataError:
        return Outcome(True)
    first = min((int(where.split(":")[1].split()[0]) for where in report.first_skipped.values()),
                default=None)
    return Outcome(False, tuple(e.text for e in examples), sum(report.skipped.values()), first)


def _recipe(path: Path, kind: str) -> Outcome:
    report = LoadReport()
    try:
        rows = list(read_table(path, ("text",), report=report,
                               delimiter="\t" if kind == "tsv" else ","))
    except DataError:
        return Outcome(True)
    first = min((int(where.split(":")[1].split()[0]) for where in report.first_skipped.values()),
                default=None)
    return Outcome(False, tuple(row["text"] for _, row in rows), sum(report.skipped.values()), first)


@pytest.mark.parametrize(("name", "data", "expected"), CASES, ids=[c[0] for c in CASES])
def test_every_reader_accepts_and_refuses_alike(tmp_path: Path, name: str, data: bytes,
                                                expected: Outcome) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    assert _score(path) == expected, "score"
    assert _parse(path) == expected, "parse"
    assert _labelled(path) == expected, "labelled loader (evaluate, train)"
    table = RowReport()
    with contextlib.suppress(ModerationError):
        list(read_rows(path, report=table))
    if table.kind in ("csv", "tsv"):  # the recipes read tables only
        assert _recipe(path, table.kind) == expected, "recipe reader"


def test_bad_lines_say_where_and_what_is_wrong(tmp_path: Path) -> None:
    report = RowReport()
    data = b'{"text": "a"}\n{"text": oops}\n[1]\n{"text": "b"}\n{"text": "cut'
    rows = list(read_rows(io.BytesIO(data), "jsonl", name="f.jsonl", report=report))
    assert [(r.line, r.values["text"]) for r in rows] == [(1, "a"), (4, "b")]
    assert [str(b) for b in report.bad] == [
        "line 2: not valid JSON (Expecting value at column 10)",
        "line 3: not a JSON object (a list; one object per line)",
        "line 5: an unfinished last line (a writer stopped mid-line)",
    ]
    table = RowReport()
    list(read_rows(io.BytesIO(b"text,n\na,1\nb,2,3\n"), "csv", report=table))
    assert str(table.bad[0]) == ("line 3: wrong number of cells (3 where the header has 2; quote "
                                 "any field that holds a comma or a line break)")
    # evaluate and train count them, naming the first place and its detail
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'{"text": "a", "hostility": 1}\n{"text": oops}\n')
    report_ = LoadReport()
    load_labelled(path, report=report_)
    assert f"1 skipped (not valid JSON, first at {path}:2 (Expecting value at column 10))" \
        in report_.summary()


def test_refusals_name_the_file_and_what_to_do(tmp_path: Path) -> None:
    cases = {
        "a.json": (b'[{"text": "a"}]', "a JSON array, not JSON Lines: write one JSON object per line"),
        "a.csv": (b"text,text\n", "the header names 'text' more than once; rename one of them"),
        "b.csv": (b"comment,n\n", "no 'text' column (columns: comment, n); name the text column "
                                  "with --text-field"),
        "a.xlsx": (b"PK\x03\x04\x00\x00", "cannot tell whether this is CSV, TSV or JSON Lines"),
    }
    for name, (data, why) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ModerationError) as caught:
            list(read_rows(path, require=("text",), hint="name the text column with --text-field"))
        assert str(caught.value).startswith(str(path)) and why in str(caught.value)


def test_a_field_across_many_chunks_is_read_whole() -> None:
    # 8 MB in one field: past the csv module's default limit (128 KiB) and across 120 chunks
    field = "x" * 8_000_000
    [row] = read_rows(io.BytesIO(f"text,n\n{field},1\n".encode()), "csv")
    assert len(row.values["text"]) == len(field)
