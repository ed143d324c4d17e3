"""`moderation parse`, run through the real command line: files, directories, stdin, errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from moderation.cli import main

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
# A comment list saved on its own: no <html>, so only --input-format tells what it is.
FRAGMENT = (b"<ol class='commentlist'><li id='comment-5'><cite>Ansel Brook</cite>"
            b"<p>Saved just the comments.</p></li></ol>\n")


def run(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[dict[str, Any]], str]:
    """Exit status, threads written to stdout, and stderr of one in-process run."""
    code = main(["parse", *args])
    captured = capsys.readouterr()
    threads = [json.loads(line) for line in captured.out.splitlines() if line.strip()]
    return code, threads, captured.err


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def python_cli(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "moderation.cli", *args], input=stdin,
                          capture_output=True, cwd=REPO, timeout=120, check=False)


def test_one_file_to_an_output_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "deep" / "threads.jsonl"
    code, printed, err = run([str(SEEDS / "wordpress-legacy.html"), "-o", str(out)], capsys)
    assert code == 0 and printed == []
    [thread] = read_jsonl(out)
    assert thread["format"] == "html" and len(thread["comments"]) == 5
    assert thread["source"] == str(SEEDS / "wordpress-legacy.html")
    # The thread's warnings are shown with the file they came from; comment text never is.
    assert f"{SEEDS / 'wordpress-legacy.html'}: warning: 1 comment date(s) not understood" in err
    assert "Wunderbar" not in err
    assert err.strip().splitlines()[-1] == "parsed 1 thread(s) from 1 file(s)"


def test_directories_are_read_recursively(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nested = tmp_path / "exports" / "2023" / "may"
    nested.mkdir(parents=True)
    shutil.copy(SEEDS / "wordpress-page.html", tmp_path / "exports" / "page.html")
    shutil.copy(SEEDS / "reddit-thread.json", nested / "reddit.json")
    shutil.copy(SEEDS / "threads.jsonl", nested / "threads.jsonl")
    (tmp_path / "exports" / ".hidden.html").write_bytes(b"")  # hidden: skipped, not an error
    (tmp_path / "exports" / ".cache").mkdir()
    (tmp_path / "exports" / ".cache" / "junk.bin").write_bytes(b"\x00\x01")
    (nested / "README.md").write_text("# How these exports were made\n\nBy hand.\nOnce a month.\n")
    code, threads, err = run([str(tmp_path / "exports")], capsys)
    assert code == 0
    assert [t["format"] for t in threads] == ["reddit", "wxr", "text", "html"]  # sorted paths
    assert "parsed 4 thread(s) from 3 file(s); 3 file(s) in directories skipped as not exports" in err
    assert "README.md" in err


def test_output_parses_back_to_the_same_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    assert run([str(SEEDS), "-o", str(first)], capsys)[0] == 0
    assert run([str(first), "-o", str(second)], capsys)[0] == 0
    assert second.read_bytes() == first.read_bytes()


def test_stdin_through_the_module_entry_point() -> None:
    result = python_cli("parse", "-", stdin=(SEEDS / "reddit-thread.json").read_bytes())
    assert result.returncode == 0, result.stderr.decode()
    [thread] = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert thread["source"] == "<stdin>" and thread["format"] == "reddit"
    assert len(thread["comments"]) == 6


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("moderation")
    if not script.exists():
        pytest.skip("the package is not installed in this environment (pip install -e .)")
    result = subprocess.run([str(script), "parse", str(SEEDS / "wordpress-page.html")],
                            capture_output=True, timeout=120, check=False)
    assert result.returncode == 0
    assert json.loads(result.stdout)["article"]["title"] == "Lighthouse Keepers Vote to Stay On"


def test_a_failing_file_does_not_stop_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads((SEEDS / "reddit-thread.json").read_text(encoding="utf-8"))
    data[1]["data"]["children"][2] = None
    (tmp_path / "b-broken.json").write_text(json.dumps(data))
    shutil.copy(SEEDS / "wordpress-page.html", tmp_path / "a-page.html")
    shutil.copy(SEEDS / "wordpress-legacy.html", tmp_path / "c-legacy.html")
    code, threads, err = run([str(tmp_path)], capsys)
    assert code == 1
    assert [t["source"] for t in threads] == [str(tmp_path / "a-page.html"),
                                              str(tmp_path / "c-legacy.html")]
    assert f"moderation: {tmp_path / 'b-broken.json'}: [1].data.children[2]: expected a JSON " \
           "object, got null" in err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == "parsed 2 thread(s) from 3 file(s); 1 file(s) failed"


def test_bad_jsonl_line_reported_after_the_good_threads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = (SEEDS / "threads.jsonl").read_bytes().splitlines()
    path = tmp_path / "mixed.jsonl"
    bad = b'{"source": "x", "comments": [{"text": "no id"}]}'
    path.write_bytes(b"\n".join([first, bad, second]) + b"\n")
    out = tmp_path / "out.jsonl"
    code, _, err = run([str(path), "-o", str(out)], capsys)
    assert code == 1
    assert len(read_jsonl(out)) == 2  # both good threads written, to the output file
    [message] = [line for line in err.splitlines() if line.startswith("moderation:")]
    assert message.startswith(f"moderation: {path}:2: 1 bad thread(s) skipped (line(s) 2)")
    assert "thread.comments[0].id: missing" in message
    assert message.endswith("(after 2 thread(s) written)")


def test_format_override(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "comments-only.txt"
    path.write_bytes(FRAGMENT)
    code, threads, err = run([str(path)], capsys)
    assert code == 1 and threads == []
    assert "unknown format" in err and "pass --input-format" in err
    code, [thread], err = run(["--input-format", "html", str(path)], capsys)
    assert code == 0 and "deprecated" not in err
    assert thread["format"] == "html"
    assert [(c["id"], c["author"], c["text"]) for c in thread["comments"]] == [
        ("5", "Ansel Brook", "Saved just the comments.")]
    # The old spelling still works, with a note on stderr.
    code, [old], err = run(["--format", "html", str(path)], capsys)
    assert code == 0 and old == thread
    assert "moderation parse: --format is deprecated; use --input-format" in err


def one_line_error(err: str) -> str:
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("moderation:")]
    assert len(errors) == 1
    return errors[0]


def test_empty_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.html"
    path.write_bytes(b"\xef\xbb\xbf \n\n")
    code, threads, err = run([str(path)], capsys)
    assert (code, threads) == (1, [])
    assert one_line_error(err) == f"moderation: {path}: the input is empty"
    result = python_cli("parse", "-", stdin=b"")
    assert result.returncode == 1
    assert one_line_error(result.stderr.decode()) == "moderation: <stdin>: the input is empty"


def test_unknown_content_missing_file_and_unknown_format_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "picture.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    code, _, err = run([str(path)], capsys)
    assert code == 1
    assert one_line_error(err).startswith(f"moderation: {path}: unknown format")
    code, _, err = run([str(tmp_path / "nowhere.xml")], capsys)
    assert code == 1
    assert one_line_error(err).startswith(f"moderation: {tmp_path / 'nowhere.xml'}: cannot open")
    with pytest.raises(SystemExit) as exit_:
        main(["parse", "--input-format", "yaml", str(path)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'yaml'" in err and "Traceback" not in err


def test_every_seed_parses(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(p for p in SEEDS.rglob("*") if p.is_file() and not p.name.startswith("."))
    code, threads, err = run([str(SEEDS)], capsys)
    assert code == 0, err
    assert f"from {len(files)} file(s)" in err
    own_jsonl = len((SEEDS / "threads.jsonl").read_text(encoding="utf-8").splitlines())
    for path in files:
        if path.name == "threads.jsonl":
            continue  # its threads keep the sources they were parsed from
        mine = [t for t in threads if t["source"].split("#")[0] == str(path)]
        assert mine, f"no thread from {path.name}"
        assert all(t["comments"] or t["article"] for t in mine), path.name
    expected = {"wordpress-page.html": "html", "wordpress-legacy.html": "html",
                "reddit-thread.json": "reddit"}
    for name, fmt in expected.items():
        assert [t["format"] for t in threads if t["source"] == str(SEEDS / name)] == [fmt]
    assert len([t for t in threads if t["source"].startswith(str(SEEDS))]) == \
        len(threads) - own_jsonl


LIGHT_IMPORT_CHECK = """
import sys
import moderation
from moderation.cli import main
try:
    main(["--help"])
except SystemExit:
    pass
heavy = [m for m in ("torch", "transformers") if m in sys.modules]
assert not heavy, heavy
main(["parse", sys.argv[1], "-o", sys.argv[2]])
heavy = [m for m in ("torch", "transformers") if m in sys.modules]
assert not heavy, heavy
print("light")
"""


def test_import_help_and_parse_do_not_load_torch(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", LIGHT_IMPORT_CHECK, str(SEEDS), str(tmp_path / "out.jsonl")],
        capture_output=True, cwd=REPO, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().splitlines()[-1] == "light"


def test_output_is_left_alone_when_no_input_could_be_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "threads.jsonl"
    out.write_text('{"earlier": "output"}\n')
    for inputs in ([tmp_path / "sed"], [tmp_path / "sed", tmp_path / "nowhere.xml"]):
        code, _, err = run([*map(str, inputs), "-o", str(out)], capsys)
        assert code == 1 and "Traceback" not in err
        assert err.splitlines()[-1] == (f"parsed 0 thread(s) from {len(inputs)} file(s); "
                                        f"{len(inputs)} file(s) failed; {out} left as it was")
        assert out.read_text() == '{"earlier": "output"}\n'
        assert [p.name for p in tmp_path.iterdir()] == ["threads.jsonl"]
    # one input read is enough to replace it
    code, _, _ = run([str(tmp_path / "sed"), str(SEEDS / "wordpress-page.html"), "-o", str(out)], capsys)
    assert code == 1 and len(read_jsonl(out)) == 1


def test_output_to_a_fifo_or_device_is_written_not_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os
    import stat
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def reader() -> None:
        with open(fifo, "rb") as handle:
            received.append(handle.read())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    assert run([str(SEEDS / "wordpress-page.html"), "-o", str(fifo)], capsys)[0] == 0
    thread.join(30)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert json.loads(received[0])["article"]["title"] == "Lighthouse Keepers Vote to Stay On"
    # a device like /dev/null, made here so that a failure cannot break the real one
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs root")
    assert run([str(SEEDS / "wordpress-page.html"), "-o", str(device)], capsys)[0] == 0
    assert device.exists() and stat.S_ISCHR(device.lstat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null", "pipe"]
