"""A stopped run leaves whole records, and --resume finishes it to exactly the output of an
uninterrupted run; scoring streams one chunk at a time, across file boundaries."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from moderation.batch import Item, Scored, ThreadStart, read_inputs, score_events, scorer_batch
from moderation.policy import model_policy
from tests.conftest import REPO
from tests.scoring.conftest import score, toy_threads, write_flat, write_threads

CHUNK = "16"


def run_args(corpus: Path, model: Path, out: Path, *extra: str) -> list[str]:
    return [str(corpus), "--model", str(model), "-o", str(out), "--chunk", CHUNK, "--threads", "1",
            *extra]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_flat(tmp_path_factory.mktemp("corpus") / "comments.jsonl", 3000)


@pytest.fixture(scope="module")
def reference(corpus: Path, toy_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run: records, summary and report."""
    from moderation.cli import main

    root = tmp_path_factory.mktemp("reference")
    code = main(["score", "-q", *run_args(corpus, toy_model, root / "scores.jsonl", "--summary",
                                          str(root / "summary.json"), "--report", str(root / "report.html"))])
    assert code == 0
    return root


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_killed_run_resumes_to_the_uninterrupted_output(
    stop: signal.Signals, corpus: Path, reference: Path, toy_model: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "scores.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "moderation.cli", "score", "-q", *run_args(corpus, toy_model, out)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    while not (out.is_file() and out.read_bytes().count(b"\n") >= 3 * int(CHUNK)):
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        assert time.monotonic() < deadline, "the run wrote nothing in time"
        time.sleep(0.01)
    process.send_signal(stop)
    process.wait(timeout=60)
    assert process.stderr is not None
    err = process.stderr.read().decode()
    left = out.read_bytes()
    total = reference.joinpath("scores.jsonl").read_bytes().count(b"\n")
    lines = left.split(b"\n")
    assert 0 < len(lines) - 1 < total, "the run ended before it was stopped: use a larger corpus"
    if stop == signal.SIGTERM:
        # a handled stop finishes the chunk being written: whole records, whole chunks
        assert process.returncode == 130 and "moderation: interrupted" in err
        assert left.endswith(b"\n") and (len(lines) - 1) % int(CHUNK) == 0
    else:
        assert process.returncode == -signal.SIGKILL
    for line in lines[:-1]:
        json.loads(line)  # every complete line is a whole record
    assert reference.joinpath("scores.jsonl").read_bytes().startswith(b"\n".join(lines[:-1]))

    code, _, err = score(run_args(corpus, toy_model, out, "--resume", "--summary",
                                  str(tmp_path / "summary.json"), "--report", str(tmp_path / "report.html")),
                         capsys)
    assert code == 0, err
    assert f"resuming: {len(lines) - 1 - (len(lines) - 1) % int(CHUNK)} record(s) kept" in err
    assert out.read_bytes() == reference.joinpath("scores.jsonl").read_bytes()
    # the summary and the report cover the whole run, not only the resumed part
    for name in ("summary.json", "report.html"):
        assert (tmp_path / name).read_bytes() == reference.joinpath(name).read_bytes()


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_resume_removes_a_partial_record_and_realigns_chunks(
    fmt: str, corpus: Path, toy_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full, out = tmp_path / f"full.{fmt}", tmp_path / f"out.{fmt}"
    small = tmp_path / "small.jsonl"
    small.write_text("\n".join(corpus.read_text().split("\n")[:100]) + "\n")
    assert score(run_args(small, toy_model, full, "--output-format", fmt), capsys)[0] == 0
    data = full.read_bytes()
    # 37 whole records (not a multiple of the chunk) and half of the 38th
    cut = 0
    for _ in range(37 + (fmt == "csv")):
        cut = data.index(b"\n", cut) + 1
    out.write_bytes(data[:cut] + data[cut:cut + 25])
    code, _, err = score(run_args(small, toy_model, out, "--output-format", fmt, "--resume"), capsys)
    assert code == 0, err
    assert "resuming: 32 record(s) kept, 5 re-scored to align with a chunk, a partial last record removed" in err
    assert out.read_bytes() == data
    # resuming a finished output changes nothing
    assert score(run_args(small, toy_model, out, "--output-format", fmt, "--resume"), capsys)[0] == 0
    assert out.read_bytes() == data


def test_resume_refuses_an_output_of_other_inputs(corpus: Path, toy_model: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    other = write_threads(tmp_path / "threads.jsonl", toy_threads(n_threads=8))
    out = tmp_path / "scores.jsonl"
    assert score(run_args(other, toy_model, out), capsys)[0] == 0
    before = out.read_bytes()
    code, _, err = score(run_args(corpus, toy_model, out, "--resume"), capsys)
    assert code == 2 and "was written from other inputs; run without --resume" in err
    assert out.read_bytes().startswith(before[: before.index(b"\n") + 1])
    code, _, err = score([str(corpus), "--model", str(toy_model), "--resume"], capsys)
    assert code == 2 and "--resume needs an output file" in err


def test_scoring_streams_one_chunk_at_a_time_across_files(toy_model: Path, tmp_path: Path) -> None:
    from moderation.scorer import Scorer

    first = write_threads(tmp_path / "a.jsonl", toy_threads(n_threads=2, per_thread=5, seed=1))
    second = write_threads(tmp_path / "b.jsonl", toy_threads(n_threads=30, per_thread=5, seed=2))
    pulled = 0

    def events():  # counts how far the input has been read
        nonlocal pulled
        for event in read_inputs([str(first), str(second)]):
            pulled += isinstance(event, Item)
            yield event

    scorer = Scorer(toy_model)
    real = scorer_batch(scorer)
    batches: list[list[str]] = []

    def spy(texts: list[str]):
        batches.append(texts)
        return real(texts)

    chunks = score_events(events(), spy, model_policy(scorer.info), chunk=8)
    head = next(chunks)
    assert pulled <= 8  # nothing is read ahead of the chunk being scored
    scored = [e for e in head if isinstance(e, Scored)]
    # the first chunk holds the 7 scorable comments of a.jsonl's first thread and one of the next
    assert len(scored) == 8 and len({e.item.thread.key for e in scored}) == 2
    assert [e.thread.source for e in head if isinstance(e, ThreadStart)] == ["toy-0.xml", "toy-1.xml"]
    rest = [e for chunk in chunks for e in chunk if isinstance(e, Scored)]
    assert all(len(b) == 8 for b in batches[:-1]) and len(scored) + len(rest) == pulled
    # records in input order, each from its own text
    assert [e.record.text for e in scored + rest] == [t for b in batches for t in b]
