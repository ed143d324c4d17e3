"""What `moderation score` does to the files it writes: a run that reads nothing leaves earlier
outputs alone, devices and FIFOs are written to (never replaced), new files honour the umask,
--resume clears temporary files a killed run left and names a damaged line, and CSV cells a
spreadsheet would run as formulas are neutralised."""

from __future__ import annotations

import csv
import json
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from moderation.io import Discard, atomic_output, output_mode, remove_stale_temporaries
from moderation.modeldir import write_json
from moderation.record import _neutral, _restored
from tests.scoring.conftest import read_records, score


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def null_device(path: Path) -> Path:
    """A character device like /dev/null, made where a failing test cannot break the real one."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs root")
    return path


def is_device(path: Path) -> bool:
    return path.exists() and stat.S_ISCHR(path.lstat().st_mode)


def read_fifo(path: Path) -> tuple[threading.Thread, list[bytes]]:
    received: list[bytes] = []

    def reader() -> None:
        with open(path, "rb") as handle:
            received.append(handle.read())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    return thread, received


def test_a_run_whose_every_input_failed_leaves_the_outputs_untouched(
    toy_model: Path, toy_thread_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, summary, report = tmp_path / "keep.jsonl", tmp_path / "s.json", tmp_path / "r.html"
    outputs = ["-o", str(out), "--summary", str(summary), "--report", str(report)]
    assert score([str(toy_thread_file), "--model", str(toy_model), *outputs], capsys)[0] == 0
    before = {path: path.read_bytes() for path in (out, summary, report)}
    assert out.read_bytes().count(b"\n") > 10
    typo = tmp_path / "sed"  # meant: seed/
    broken = tmp_path / "broken.jsonl"
    broken.write_text("not json\n")
    for inputs in ([typo], [typo, broken]):
        code, _, err = score([*map(str, inputs), "--model", str(toy_model), *outputs], capsys)
        assert code == 1
        assert "Traceback" not in err
        assert err.splitlines()[-1] == (f"moderation: no input could be read ({len(inputs)} failed); "
                                        f"{out}, {summary}, {report} left as they were")
        assert {path: path.read_bytes() for path in before} == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.jsonl", "keep.jsonl", "r.html", "s.json"]
    # the same with --resume: nothing is cut back either
    code, _, err = score([str(typo), "--model", str(toy_model), *outputs, "--resume"], capsys)
    assert code == 1 and err.splitlines()[-1].endswith("left as they were")
    assert {path: path.read_bytes() for path in before} == before


def test_inputs_that_hold_nothing_still_replace_the_outputs(
    toy_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("id,text\n")
    out, summary = tmp_path / "scores.csv", tmp_path / "s.json"
    out.write_text("old\n")
    summary.write_text("{}\n")
    code, _, err = score([str(empty), "--model", str(toy_model), "-o", str(out), "--output-format", "csv",
                          "--summary", str(summary)], capsys)
    assert code == 0, err
    assert out.read_text().startswith("thread_source,") and out.read_text().count("\n") == 1
    assert json.loads(summary.read_text())["totals"]["comments"] == 0


def test_devices_and_fifos_are_written_to_never_replaced(
    toy_model: Path, toy_thread_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    device = null_device(tmp_path / "null")
    code, _, err = score([str(toy_thread_file), "--model", str(toy_model), "-o", str(device),
                          "--summary", str(device), "--report", str(device)], capsys)
    assert code == 0, err
    assert is_device(device) and sorted(p.name for p in tmp_path.iterdir()) == ["null"]
    for fmt in ("jsonl", "csv"):
        fifo = tmp_path / f"pipe-{fmt}"
        os.mkfifo(fifo)
        thread, received = read_fifo(fifo)
        code, _, err = score([str(toy_thread_file), "--model", str(toy_model), "-o", str(fifo),
                              "--output-format", fmt], capsys)
        thread.join(30)
        assert code == 0, err
        assert stat.S_ISFIFO(fifo.lstat().st_mode)
        assert received[0].count(b"\n") > 10
    fifo = tmp_path / "report-pipe"
    os.mkfifo(fifo)
    thread, received = read_fifo(fifo)
    code, _, err = score([str(toy_thread_file), "--model", str(toy_model), "-o", str(device),
                          "--report", str(fifo)], capsys)
    thread.join(30)
    assert code == 0, err
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and received[0].rstrip().endswith(b"</html>")
    code, _, err = score([str(toy_thread_file), "--model", str(toy_model), "-o", str(device),
                          "--resume"], capsys)
    assert code == 2 and "--resume needs a regular output file" in err
    assert is_device(device)


def test_atomic_output_writes_to_a_device_and_follows_links(tmp_path: Path) -> None:
    device = null_device(tmp_path / "null")
    with atomic_output(device) as out:
        out.write("gone\n")
    assert is_device(device)
    write_json(device, {"a": 1})
    assert is_device(device) and sorted(p.name for p in tmp_path.iterdir()) == ["null"]
    target, link = tmp_path / "target.json", tmp_path / "link.json"
    target.write_text("old\n")
    link.symlink_to(target)
    write_json(link, {"a": 1})
    assert link.is_symlink() and json.loads(target.read_text()) == {"a": 1}
    with pytest.raises(Exception, match="is a directory"), atomic_output(tmp_path) as out:
        out.write("x")


def test_new_outputs_honour_the_umask_and_replaced_ones_keep_their_mode(
    umask_022: None, toy_model: Path, toy_thread_file: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out, summary, report = tmp_path / "scores.jsonl", tmp_path / "s.json", tmp_path / "r.html"
    threads = tmp_path / "threads.jsonl"
    assert score([str(toy_thread_file), "--model", str(toy_model), "-o", str(out),
                  "--summary", str(summary), "--report", str(report)], capsys)[0] == 0
    from moderation.cli import main

    assert main(["parse", str(toy_thread_file), "-o", str(threads)]) == 0
    for path in (out, summary, report, threads):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
    # a replaced file keeps the mode its owner gave it
    for path in (out, summary, report, threads):
        path.chmod(0o640)
    assert score([str(toy_thread_file), "--model", str(toy_model), "-o", str(out),
                  "--summary", str(summary), "--report", str(report)], capsys)[0] == 0
    assert main(["parse", str(toy_thread_file), "-o", str(threads)]) == 0
    for path in (out, summary, report, threads):
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path
    os.umask(0o077)
    write_json(tmp_path / "private.json", {})
    assert stat.S_IMODE((tmp_path / "private.json").stat().st_mode) == 0o600


def test_saved_model_files_honour_the_umask(umask_022: None, tiny_base: Path, tmp_path: Path) -> None:
    from moderation.network import ModerationNetwork, load_encoder, save_network

    network = ModerationNetwork(load_encoder(tiny_base), 2)
    save_network(network, tmp_path, "full")
    names = {p.name for p in tmp_path.iterdir()}
    assert {"encoder.safetensors", "heads.safetensors"} <= names
    for path in tmp_path.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
    (tmp_path / "heads.safetensors").chmod(0o640)
    save_network(network, tmp_path, "full")
    assert stat.S_IMODE((tmp_path / "heads.safetensors").stat().st_mode) == 0o640
    assert output_mode(tmp_path / "new") == 0o644


def test_resume_removes_the_temporary_files_a_killed_run_left(
    toy_model: Path, toy_thread_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, summary, report = tmp_path / "scores.jsonl", tmp_path / "s.json", tmp_path / "r.html"
    ours = [".r.html.k3x_9q2a.tmp", ".r.html.0123abcd.tmp", ".s.json.tmp", ".s.json.deadbeef.tmp"]
    others = [".other.html.0123abcd.tmp", "r.html.0123abcd.tmp", ".r.html.0123abcd.tmp.keep",
              ".r.html.toolongname.tmp", "notes.tmp"]
    for name in ours + others:
        (tmp_path / name).write_text("a comment someone wrote\n")
    (tmp_path / ".r.html.dir45678.tmp").mkdir()  # not a file: not ours
    code, _, err = score([str(toy_thread_file), "--model", str(toy_model), "-o", str(out),
                          "--summary", str(summary), "--report", str(report), "--resume"], capsys)
    assert code == 0, err
    assert "resuming: removed 4 temporary file(s) a stopped run left" in err
    left = {p.name for p in tmp_path.iterdir()}
    assert not left & set(ours)
    assert set(others) | {".r.html.dir45678.tmp", "scores.jsonl", "s.json", "r.html"} == left
    assert remove_stale_temporaries("-") == []


@pytest.mark.parametrize("damage", [b"garbage\n", b"\xff\xfe{}\n", b"[1, 2]\n", b'{"id": "x"\n'],
                         ids=["text", "bytes", "not-an-object", "truncated"])
def test_resume_names_a_damaged_line(
    damage: bytes, toy_model: Path, toy_thread_file: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "scores.jsonl"
    args = [str(toy_thread_file), "--model", str(toy_model), "-o", str(out), "--chunk", "4"]
    assert score(args, capsys)[0] == 0
    lines = out.read_bytes().splitlines(keepends=True)
    lines[5] = damage
    out.write_bytes(b"".join(lines))
    code, _, err = score([*args, "--resume"], capsys)
    assert code == 2 and "Traceback" not in err
    assert err.splitlines()[-1] == (
        f"moderation: {out}, line 6: not a whole record (the file was damaged there); to resume, "
        "cut the file just before that line, or run without --resume to score everything again")
    # following the advice works
    out.write_bytes(b"".join(lines[:5]))
    code, _, err = score([*args, "--resume"], capsys)
    assert code == 0, err
    assert "resuming: 4 record(s) kept, 1 re-scored to align with a chunk" in err


def test_resume_names_a_damaged_csv_record(
    toy_model: Path, toy_thread_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "scores.csv"
    args = [str(toy_thread_file), "--model", str(toy_model), "-o", str(out), "--chunk", "4",
            "--output-format", "csv"]
    assert score(args, capsys)[0] == 0
    lines = out.read_bytes().splitlines(keepends=True)
    lines[3] = b"a,b,c\n"
    out.write_bytes(b"".join(lines))
    code, _, err = score([*args, "--resume"], capsys)
    assert code == 2 and "Traceback" not in err
    assert f"moderation: {out}, line 4: not a whole record" in err


FORMULAS = ["=HYPERLINK(\"https://evil.example\",\"click\")", "@SUM(A1:A9)", "+1+2", "-2+3",
            "\t=1", "\rplain", "  =cmd|' /C calc'!A0", "\n@x", "'=already quoted", "''-x"]
HARMLESS = ["plain", "a = b", "'quoted", "e-mail", "", " spaced"]


def test_neutralised_cells_read_back_exactly() -> None:
    for value in FORMULAS:
        assert _neutral(value).startswith("'") and _restored(_neutral(value)) == value
    for value in HARMLESS:
        assert _neutral(value) == value and _restored(value) == value


def test_csv_cells_a_spreadsheet_would_run_are_neutralised(
    toy_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    comments = tmp_path / "comments.jsonl"
    rows = [{"id": f"-{i}", "author": "@admin" if i % 2 else "=evil()", "thread": "=topic",
             "text": text} for i, text in enumerate(FORMULAS + HARMLESS[:-2])]
    comments.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out, jsonl = tmp_path / "scores.csv", tmp_path / "scores.jsonl"
    summary, resumed_summary = tmp_path / "s.json", tmp_path / "resumed.json"
    args = [str(comments), "--model", str(toy_model), "--chunk", "4"]
    assert score([*args, "-o", str(out), "--output-format", "csv", "--summary", str(summary)], capsys)[0] == 0
    assert score([*args, "-o", str(jsonl)], capsys)[0] == 0
    records = read_records(jsonl)
    with open(out, newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == len(records) == len(rows)
    for row, record in zip(table, records, strict=True):
        for column in ("thread_title", "id", "author", "text"):
            cell = row[column]
            assert cell.lstrip()[:1] not in ("=", "+", "-", "@", "\t", "\r"), (column, cell)
        assert row["id"] == "'" + record["id"] and row["thread_title"] == "'=topic"
        assert row["author"] in ("'@admin", "'=evil()")
        assert row["text"] == (_neutral(record["text"]))
    # --resume reads the cells back as they were: the same records, the same summary
    data = out.read_bytes()
    code, _, err = score([*args, "-o", str(out), "--output-format", "csv", "--resume",
                          "--summary", str(resumed_summary)], capsys)
    assert code == 0, err
    assert f"resuming: {len(rows) - len(rows) % 4} record(s) kept" in err
    assert out.read_bytes() == data
    assert resumed_summary.read_bytes() == summary.read_bytes()


def test_discard_leaves_a_file_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "keep.txt"
    target.write_text("old\n")
    with atomic_output(target) as out:
        out.write("new\n")
        raise Discard
    assert target.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
