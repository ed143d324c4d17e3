"""Our own thread JSON / JSONL: exact round trips, every layout, bad lines reported."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from moderation.errors import ParseError
from moderation.parsers import html, jsonl, reddit
from moderation.thread import Thread


def read(data: bytes, source: str = "threads.jsonl") -> list[Thread]:
    return list(jsonl.FORMAT.parse(io.BytesIO(data), source))


def to_jsonl(threads: list[Thread]) -> bytes:
    # Exactly what `moderation parse` writes.
    return "".join(json.dumps(t.to_dict(), ensure_ascii=False) + "\n" for t in threads).encode()


def read_keeping_good(data: bytes) -> tuple[list[Thread], ParseError]:
    """The threads yielded before the parser raised, and the error it raised at the end."""
    good: list[Thread] = []
    with pytest.raises(ParseError) as caught:
        for thread in jsonl.FORMAT.parse(io.BytesIO(data), "threads.jsonl"):
            good.append(thread)
    return good, caught.value


@pytest.fixture(scope="module")
def parsed(seeds_dir: Path) -> list[Thread]:
    """Threads from other formats, with aware and naive times, pingbacks and warnings."""
    threads: list[Thread] = []
    for name, fmt in (("wordpress-page.html", html.FORMAT), ("wordpress-legacy.html", html.FORMAT),
                      ("reddit-thread.json", reddit.FORMAT)):
        path = seeds_dir / name
        threads += fmt.parse(io.BytesIO(path.read_bytes()), str(path))
    return threads


@pytest.fixture(scope="module")
def own_file(seeds_dir: Path) -> bytes:
    return (seeds_dir / "threads.jsonl").read_bytes()


def test_round_trip_of_parsed_threads(parsed: list[Thread]) -> None:
    back = read(to_jsonl(parsed))
    assert back == parsed
    # Equal times can differ in zone; the round trip keeps the zone (and naivety) too.
    for original, again in zip(parsed, back, strict=True):
        for a, b in zip(original.comments, again.comments, strict=True):
            assert (a.posted_at is None) == (b.posted_at is None)
            if a.posted_at is not None and b.posted_at is not None:
                assert a.posted_at.utcoffset() == b.posted_at.utcoffset()


def test_own_fixture_round_trips_byte_for_byte(own_file: bytes) -> None:
    threads = read(own_file)
    assert len(threads) == 2
    assert [t.format for t in threads] == ["wxr", "text"]  # the original format is kept
    assert to_jsonl(threads) == own_file
    first = threads[0]
    assert [c.status for c in first.comments] == ["approved", "pending", "spam", "trash"]
    assert first.comments[0].posted_at is not None
    assert first.comments[0].posted_at.microsecond == 250000
    assert first.comments[1].posted_at is not None and first.comments[1].posted_at.tzinfo is None


def test_other_layouts(parsed: list[Thread]) -> None:
    dicts = [t.to_dict() for t in parsed]
    pretty_list = json.dumps(dicts, indent=2).encode()
    compact_list = json.dumps(dicts).encode()
    one_pretty = json.dumps(dicts[0], indent=4, ensure_ascii=False).encode()
    concatenated = b"\n".join(json.dumps(d, indent=1).encode() for d in dicts)
    assert read(pretty_list) == parsed
    assert read(compact_list) == parsed
    assert read(one_pretty) == parsed[:1]
    assert read(concatenated) == parsed
    assert read(b"\xef\xbb\xbf\n\n" + to_jsonl(parsed) + b"\n\n") == parsed


def test_bad_lines_keep_the_good_threads(own_file: bytes) -> None:
    first, second = own_file.splitlines()
    data = b"\n".join([
        first,
        b'{"source": "a", "comments": [{"text": "no id"}]}',
        b"",
        b'{"source": "b", "comments": [',
        second,
        b'{"source": "c", "comments": [], "colour": "blue"}',
    ]) + b"\n"
    good, error = read_keeping_good(data)
    assert good == read(own_file)
    assert error.path == "threads.jsonl" and error.line == 2
    assert error.why.startswith("3 bad thread(s) skipped (line(s) 2, 4, 6), 2 good thread(s) read")
    assert "line 2: thread.comments[0].id: missing" in error.why
    assert "line 4: not valid JSON" in error.why
    assert "line 6: thread: unknown field(s) colour" in error.why


def test_bad_field_types_are_named() -> None:
    good, error = read_keeping_good(
        b'{"source": "x", "comments": [{"id": "1", "posted_at": "last week"}]}\n'
        b'{"source": "y", "article": "just a string", "comments": []}\n'
        b'{"source": "z", "comments": [{"id": "1", "status": "hidden"}]}\n')
    assert good == []
    assert "line 1: thread.comments[0].posted_at: 'last week' is not an ISO 8601 time" in error.why
    assert "line 2: thread.article: expected a JSON object, got a string" in error.why
    assert "line 3: thread.comments[0].status: must be one of" in error.why


def test_nested_values_of_the_wrong_kind_are_named() -> None:
    good, error = read_keeping_good(
        b'{"source": "a", "comments": ["just a string"]}\n'
        b'{"source": "b", "comments": [], "pingbacks": [null]}\n'
        b'{"source": "c", "article": {"blocks": [["heading", "Title"]]}}\n'
        b'{"source": "f", "comments": [{"id": "1", "text": "fine"}]}\n')
    assert [t.source for t in good] == ["f"]  # the good thread is kept
    assert "line 1: thread.comments[0]: expected a JSON object, got a string" in error.why
    assert "line 2: thread.pingbacks[0]: expected a JSON object, got null" in error.why
    assert "line 3: thread.article.blocks[0]: expected a JSON object, got a list" in error.why
    good, error = read_keeping_good(
        b'{"source": "d", "comments": [], "warnings": [{"text": "odd"}]}\n'
        b'{"source": "e", "comments": [{"id": "1", "author": {"name": "Ann"}}]}\n')
    assert good == []
    assert "line 1: thread.warnings[0]: expected a string, got an object" in error.why
    assert "line 2: thread.comments[0].author: expected a string, got an object" in error.why


def test_bad_item_in_a_list_is_named(parsed: list[Thread]) -> None:
    dicts = [t.to_dict() for t in parsed]
    dicts[1]["comments"][0]["parent_id"] = ["not", "a", "string"]
    good, error = read_keeping_good(json.dumps(dicts, indent=2).encode())
    assert good == [parsed[0], parsed[2]]
    assert "[1].comments[0].parent_id: expected a string, got a list" in error.why


def test_syntax_error_in_a_document_names_its_line(parsed: list[Thread]) -> None:
    text = json.dumps(parsed[0].to_dict(), indent=2)
    lines = text.split("\n")
    lines[5] = lines[5].rstrip(",")  # drop one comma
    good, error = read_keeping_good(("\n\n" + "\n".join(lines)).encode())
    assert good == []
    # Two blank lines, then the object: lines[5] is file line 8; JSON notices on the next one.
    assert error.line == 9
    assert "not valid JSON" in error.why and "reading stopped" in error.why


def test_invalid_utf8_becomes_a_warning_on_that_thread(own_file: bytes) -> None:
    first, second = own_file.splitlines()
    broken = second.replace(b"to the point", b"to the \xffpoint")
    threads = read(first + b"\n" + broken + b"\n")
    assert threads[0].warnings == read(first)[0].warnings
    assert threads[1].comments[0].text == "Short and to the \ufffdpoint."
    assert threads[1].warnings[-1].startswith("line 2: invalid UTF-8")


def test_sniff(own_file: bytes, parsed: list[Thread], seeds_dir: Path) -> None:
    dicts = [t.to_dict() for t in parsed]
    assert jsonl.sniff(own_file)
    assert jsonl.sniff(b"\xef\xbb\xbf  " + json.dumps(dicts, indent=2).encode())
    assert jsonl.sniff(json.dumps(dicts[0]).encode())
    # An article longer than the sniffed head still starts with our "source" key.
    assert jsonl.sniff(b'{"source": "x", "format": "html", "article": {"blocks": [')
    assert not jsonl.sniff((seeds_dir / "reddit-thread.json").read_bytes())
    assert not jsonl.sniff(b"[1, 2, 3]")
    assert not jsonl.sniff(b'{"name": "a config file"}')
    assert not jsonl.sniff(b"<!DOCTYPE html><html>")
