"""Nothing lost, no traceback: one bad input among good ones, through `moderation parse` and
the reader `moderation score` uses. Whatever the bad input raises, the good ones are written,
the bad one is reported with its path and one line, and the exit status says so; comment text
never reaches standard error."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from moderation import batch
from moderation.cli import main
from moderation.parsers import formats
from moderation.parsers.html import FORMAT as HTML_FORMAT
from tests.parsers.hostile import CASES, ENCODINGS, SECRET, Case, reddit

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
GOOD = "wordpress-page.html"


def parse_dir(folder: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[Any], str]:
    out = folder.parent / "out.jsonl"
    code = main(["parse", str(folder), "-o", str(out)])
    err = capsys.readouterr().err
    threads = [json.loads(line) for line in out.read_text("utf-8").splitlines()] \
        if out.exists() else []
    return code, threads, err


def with_good_seed(tmp_path: Path, name: str, data: bytes) -> Path:
    folder = tmp_path / "inputs"
    folder.mkdir()
    shutil.copy(SEEDS / GOOD, folder / "a-good.html")
    (folder / name).write_bytes(data)
    return folder


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_a_hostile_file_beside_a_good_one(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = f"b-bad{case.suffix}"
    folder = with_good_seed(tmp_path, bad, case.data())
    code, threads, err = parse_dir(folder, capsys)
    assert "Traceback" not in err and SECRET not in err
    assert threads[0]["source"] == str(folder / "a-good.html")
    if case.error:  # refused, by name, with its path
        assert code == 1 and len(threads) == 1
        assert f"moderation: {folder / bad}" in err and case.error in err
        assert err.strip().splitlines()[-1] == "parsed 1 thread(s) from 2 file(s); 1 file(s) failed"
    else:  # read, and written as UTF-8
        assert code == 0, err
        assert len(threads) == 2  # the bad file's thread after the good one
        if case.warning:
            assert f"{folder / bad}: warning: " in err and case.warning in err


@pytest.mark.parametrize("codec", ENCODINGS)
def test_utf16_exports_are_parsed(codec: str, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "inputs"
    folder.mkdir()
    seeds = ("page-copy.txt", "reddit-thread.json", "threads.jsonl", "wordpress-legacy.html")
    for seed in seeds:
        (folder / seed).write_bytes((SEEDS / seed).read_text("utf-8").encode(codec))
    code, threads, err = parse_dir(folder, capsys)
    assert code == 0, err
    assert [t["format"] for t in threads] == ["text", "reddit", "wxr", "text", "html"]


def explode(stream: Any, source: str) -> Any:
    """A parser with a bug: it raises an exception of the standard library, whose message
    quotes the comment it was reading."""
    yield from ()
    raise AssertionError(f"unexpected text {SECRET!r}")


@pytest.fixture
def buggy_html(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(formats(), "html", HTML_FORMAT.__class__(
        HTML_FORMAT.name, HTML_FORMAT.description, HTML_FORMAT.sniff, explode))


def test_any_exception_stays_with_its_input(
    buggy_html: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "inputs"
    folder.mkdir()
    shutil.copy(SEEDS / "reddit-thread.json", folder / "a-reddit.json")
    shutil.copy(SEEDS / GOOD, folder / "b-page.html")
    shutil.copy(SEEDS / "threads.jsonl", folder / "c-threads.jsonl")
    code, threads, err = parse_dir(folder, capsys)
    assert code == 1
    assert [t["format"] for t in threads] == ["reddit", "wxr", "text"]
    [message] = [line for line in err.splitlines() if line.startswith("moderation:")]
    # the type, and the places (the innermost of ours, and the one it came from)
    assert message.startswith(f"moderation: {folder / 'b-page.html'}: could not be read: "
                              "internal error AssertionError at parsers/__init__.py:")
    assert "(in tests/test_cli_hostile.py:" in message
    assert message.endswith("the other inputs are unaffected (please report this with the file)")
    assert SECRET not in err and "Traceback" not in err
    assert err.strip().splitlines()[-1] == "parsed 3 thread(s) from 3 file(s); 1 file(s) failed"


def test_the_score_reader_reports_any_exception_as_a_failure(
    buggy_html: None, tmp_path: Path
) -> None:
    folder = tmp_path / "inputs"
    folder.mkdir()
    shutil.copy(SEEDS / GOOD, folder / "a-page.html")
    (folder / "b-list.jsonl").write_text('{"text": "fine"}\n{"text": "odd \\ud800 one"}\n')
    events = list(batch.read_inputs([str(folder)]))
    [failure] = [e for e in events if isinstance(e, batch.Failure)]
    assert failure.path == str(folder / "a-page.html")
    assert failure.reason.startswith("could not be read: internal error AssertionError at ")
    assert SECRET not in failure.reason
    texts = [e.comment.text for e in events if isinstance(e, batch.Item)]
    assert texts == ["fine", "odd \ufffd one"]  # writable, and the tokenizer takes it


def test_a_lone_surrogate_in_a_comment_list_is_scored(
    toy_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "inputs"
    folder.mkdir()
    (folder / "list.jsonl").write_text('{"id": "1", "text": "river \\ud800 market"}\n')
    (folder / "thread.json").write_bytes(reddit(body='"bread \\udc00 river"'))
    out = tmp_path / "scores.jsonl"
    code = main(["score", str(folder), "--model", str(toy_model), "-o", str(out), "-q"])
    err = capsys.readouterr().err
    assert code == 0, err
    records = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert [r["text"] for r in records] == ["river \ufffd market", "bread \ufffd river"]


def test_no_traceback_from_the_command_line(tmp_path: Path) -> None:
    folder = with_good_seed(tmp_path, "b-bad.xml", CASES[-1].data())
    (folder / "c-deep.json").write_bytes(
        b'[{"kind": "Listing", "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]")
    result = subprocess.run([sys.executable, "-m", "moderation.cli", "parse", str(folder)],
                            capture_output=True, cwd=REPO, timeout=120, check=False)
    err = result.stderr.decode()
    assert result.returncode == 1
    assert "Traceback" not in err and SECRET not in err
    assert f"moderation: {folder / 'c-deep.json'}:1: not valid JSON: nested more than 100000 " \
           "levels deep" in err
    written = [json.loads(line) for line in io.StringIO(result.stdout.decode())]
    assert [t["format"] for t in written] == ["html", "html"]
