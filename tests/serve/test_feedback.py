"""The feedback store through the real server (``moderation serve``, two uvicorn workers on
loopback, the toy model): verdicts from many threads land as whole lines, keys apply, bad
verdicts are refused naming the field, Perspective's suggestions land in the same format, and
the store trains and evaluates as it is. The store's writer is also killed mid-stream."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from moderation.feedback import Verdict, append
from moderation.labelled import LoadReport, load_labelled
from moderation.rows import UNFINISHED
from tests.conftest import REPO
from tests.server import serving
from tests.tiny_model import FILLER, HOSTILE, toy_rows

KEY = "feedback-test-key"
AUTH = {"X-API-Key": KEY}
SECRET = "market bridge coffee river idiot music"  # never to be logged



@pytest.fixture(scope="module")
def served(toy_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    """(url, store, log) of a server with two workers writing one feedback store."""
    root = tmp_path_factory.mktemp("feedback")
    store, log_file = root / "feedback.jsonl", root / "server.log"
    env = {**os.environ, "MODERATION_FEEDBACK_FILE": str(store), "MODERATION_API_KEYS": KEY,
           "MODERATION_THREADS": "1", "MODERATION_AUTH_FAILURES": "0"}
    command = [sys.executable, "-m", "moderation.cli", "serve", "--model", str(toy_model), "--workers", "2"]
    with serving(command, cwd=REPO, env=env, log=log_file, timeout=180, ready="/readyz") as url:
        yield url, store, log_file


def _lines(store: Path) -> list[dict]:
    data = store.read_bytes() if store.exists() else b""
    assert not data or data.endswith(b"\n")
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


def _long_text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(FILLER + HOSTILE) for _ in range(words))


def test_verdicts_from_many_threads_are_each_one_whole_line(served: tuple[str, Path, Path]) -> None:
    url, store, _ = served
    before = len(_lines(store))
    rng = random.Random(3)
    # Many lines far past PIPE_BUF (4,096 bytes), which a plain O_APPEND write does not keep whole
    # on every filesystem; the texts stay within the 20,000-character limit.
    verdicts = [{"text": _long_text(rng, rng.choice((3, 40, 900, 2500))), "id": f"v{i}",
                 "labels": {"hostility": i % 2, "insult": (i // 2) % 2}, "thread": f"t{i % 7}"}
                for i in range(160)]

    def send(chunk: list[dict]) -> list[int]:
        with httpx.Client(base_url=url, headers=AUTH, timeout=60) as client:
            return [client.post("/v1/feedback", json=v).status_code for v in chunk]

    with ThreadPoolExecutor(max_workers=16) as pool:
        codes = [c for chunk in pool.map(send, [verdicts[i::16] for i in range(16)]) for c in chunk]
    assert codes == [200] * len(verdicts)
    lines = _lines(store)[before:]
    assert len(lines) == len(verdicts)
    sent = {v["id"]: v for v in verdicts}
    assert {line["id"] for line in lines} == set(sent)
    for line in lines:
        want = sent[line["id"]]
        assert line["text"] == want["text"] and line["thread"] == want["thread"]
        assert {k: line[k] for k in ("hostility", "insult")} == want["labels"]
        assert "threat" not in line  # not decided: unknown, not 0
    report = LoadReport()
    examples = load_labelled(store, report=report)
    assert len(examples) == len(_lines(store)) and not report.skipped


def test_a_verdict_needs_a_key_and_a_refused_one_writes_nothing(served: tuple[str, Path, Path]) -> None:
    url, store, _ = served
    before = store.read_bytes()
    verdict = {"text": "you vile clown", "labels": {"hostility": 1}}
    assert httpx.post(f"{url}/v1/feedback", json=verdict).status_code == 401
    assert httpx.post(f"{url}/v1/feedback", json=verdict, headers={"X-API-Key": "wrong"}).status_code == 401
    suggestion = {"comment": {"text": "you vile clown"},
                  "attributeScores": {"TOXICITY": {"summaryScore": {"value": 1}}}}
    assert httpx.post(f"{url}/v1alpha1/comments:suggestscore", json=suggestion).status_code == 401
    assert store.read_bytes() == before


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"text": "a vile clown", "labels": {"hostility": 1, "sarcasm": 1}}, "labels.sarcasm", "unknown label 'sarcasm'"),
    ({"text": "a vile clown", "labels": {"hostilty": 1}}, "labels.hostilty",
     "unknown label 'hostilty' (did you mean hostility?)"),
    ({"text": "a vile clown", "labels": {"hostility": 2}}, "labels.hostility", "0 or 1"),
    ({"text": "a vile clown", "labels": {"hostility": True}}, "labels.hostility", "number"),
    ({"text": "a vile clown", "labels": {}}, "labels", "at least one"),
    ({"text": "a vile clown", "labels": {"hostility": 1, "insult": 0},
      "spans": [{"start": 7, "end": 12, "label": "insult"}]}, "spans.0.label", "not marked 1"),
    ({"text": "a vile clown", "labels": {"hostility": 1},
      "spans": [{"start": 2, "end": 40, "label": "hostility"}]}, "spans.0", "end <= 12"),
    ({"text": "   ", "labels": {"hostility": 0}}, "text", "empty"),
])
def test_a_bad_verdict_is_a_422_naming_the_field(served: tuple[str, Path, Path], body: dict, field: str,
                                                 words: str) -> None:
    url, store, _ = served
    before = store.read_bytes()
    r = httpx.post(f"{url}/v1/feedback", json=body, headers=AUTH)
    assert r.status_code == 422, r.text
    assert f"{field}:" in r.json()["error"]["message"] and words in r.json()["error"]["message"]
    assert store.read_bytes() == before


def test_perspective_suggestions_are_stored_as_verdicts(served: tuple[str, Path, Path]) -> None:
    url, store, _ = served
    before = len(_lines(store))
    r = httpx.post(f"{url}/v1alpha1/comments:suggestscore?key={KEY}", json={
        "comment": {"text": "what a rotten clown"}, "languages": ["en-GB"], "communityId": "sport",
        "clientToken": "tok-7", "sessionId": "s1", "context": {"entries": [{"text": "the match"}]},
        "attributeScores": {"TOXICITY": {"summaryScore": {"value": 1.0}},
                            "INSULT": {"summaryScore": {"value": 1},
                                       "spanScores": [{"begin": 14, "end": 19, "score": {"value": 1}}]},
                            "THREAT": {"summaryScore": {"value": 0, "type": "PROBABILITY"}}}})
    assert r.status_code == 200, r.text
    assert r.json() == {"clientToken": "tok-7", "requestedLanguages": ["en-GB"]}
    [line] = _lines(store)[before:]
    assert {k: line[k] for k in ("text", "hostility", "insult", "threat", "community")} == {
        "text": "what a rotten clown", "hostility": 1, "insult": 1, "threat": 0, "community": "sport"}
    assert line["spans"] == [{"start": 14, "end": 19, "label": "insult"}] and line["span_labels"] == ["insult"]
    # Perspective's 400s, and nothing stored
    for attributes, words in (({"FLIRTATION": {"summaryScore": {"value": 1}}}, "Unknown attribute: FLIRTATION"),
                              ({"PROFANITY": {"summaryScore": {"value": 1}}}, "lacks the label(s) profanity"),
                              ({"TOXICITY": {"summaryScore": {"value": 1, "type": "STD_DEV_SCORE"}}},
                               "does not support score type")):
        r = httpx.post(f"{url}/v1alpha1/comments:suggestscore", headers=AUTH,
                       json={"comment": {"text": "a vile clown"}, "attributeScores": attributes})
        assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"
        assert words in r.json()["error"]["message"]
    r = httpx.post(f"{url}/v1alpha1/comments:suggestscore", headers=AUTH, json={
        "comment": {"text": "a vile clown"}, "languages": ["de"],
        "attributeScores": {"TOXICITY": {"summaryScore": {"value": 1}}}})
    assert r.status_code == 400 and "does not support request languages: de" in r.json()["error"]["message"]
    assert len(_lines(store)) == before + 1


def test_the_text_of_a_verdict_is_never_logged(served: tuple[str, Path, Path]) -> None:
    url, _, log_file = served
    assert httpx.post(f"{url}/v1/feedback", headers=AUTH,
                      json={"text": SECRET, "labels": {"insult": 1}}).status_code == 200
    assert httpx.post(f"{url}/v1/feedback", headers=AUTH,
                      json={"text": SECRET, "labels": {"nope": 1}}).status_code == 422
    time.sleep(0.3)
    log = log_file.read_text()
    assert "POST /v1/feedback 200" in log and "POST /v1/feedback 422" in log
    assert SECRET not in log and "idiot" not in log


def test_the_store_trains_and_evaluates_as_it_is(served: tuple[str, Path, Path], tiny_base: Path,
                                                 tmp_path: Path) -> None:
    from moderation.cli import main

    url, store, _ = served
    with httpx.Client(base_url=url, headers=AUTH) as client:
        for row in toy_rows(60, 11):
            spans = [s for s in row["spans"] if row["hostility"]]
            body = {"text": row["text"], "labels": {"hostility": row["hostility"], "insult": row["insult"]},
                    **({"spans": spans} if spans else {})}
            assert client.post("/v1/feedback", json=body).status_code == 200, body
    model = tmp_path / "site"
    windows = tmp_path / "windows.toml"  # the tiny BERT reads 128 positions; the store's texts are longer
    windows.write_text("score_max_length = 32\nstride = 8\n")
    assert main(["train", "--data", str(store), "-o", str(model), "--base", str(tiny_base),
                 "--config", str(windows), "--labels", "hostility,insult", "--max-steps", "3",
                 "--batch-size", "8", "--max-length", "32", "--threads", "1"]) == 0
    assert (model / "config.json").is_file()
    saved = tmp_path / "evaluation.json"
    assert main(["evaluate", "--model", str(model), "--data", str(store), "-o", str(saved),
                 "--backend", "torch"]) == 0
    labels = json.loads(saved.read_text())["a"]["labels"]
    assert labels["hostility"]["known"] == len(_lines(store))
    assert labels["insult"]["support"] > 0


# The store itself ----------------------------------------------------------------------------

WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from moderation.feedback import Verdict, append
    path, n = Path(sys.argv[1]), 0
    while True:  # until killed; lines of 1 to 3 MB, so a kill often lands inside a write
        append(path, Verdict(text=("word " * (200_000 * (1 + n % 3))).strip(), labels={"hostility": n % 2},
                             id=str(n)))
        n += 1
""")


def test_a_writer_killed_mid_stream_leaves_only_whole_lines(tmp_path: Path) -> None:
    store = tmp_path / "feedback.jsonl"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(store)], cwd=REPO) for _ in range(2)]
    try:
        deadline = time.monotonic() + 60
        while (store.read_bytes().count(b"\n") if store.exists() else 0) < 4:
            assert time.monotonic() < deadline, "the writers wrote nothing"
            time.sleep(0.05)
        time.sleep(random.Random(1).uniform(0.0, 0.2))
    finally:
        for writer in writers:
            writer.send_signal(signal.SIGKILL)
            writer.wait()
    data = store.read_bytes()
    whole = data.count(b"\n")
    report = LoadReport()
    examples = load_labelled(store, report=report)
    assert len(examples) == whole
    assert set(report.skipped) <= {UNFINISHED} and report.skipped.get(UNFINISHED, 0) == int(not data.endswith(b"\n"))
    assert all(ex.text == ("word " * len(ex.text.split())).strip() for ex in examples)
    # The next append cuts off an unfinished tail before writing: every line is whole again.
    append(store, Verdict(text="the river", labels={"hostility": 0}, id="after"))
    lines = store.read_bytes().decode("utf-8").splitlines(keepends=True)
    assert len(lines) == whole + 1 and all(line.endswith("\n") for line in lines)
    assert [json.loads(line)["id"] for line in lines][-1] == "after"


def test_a_torn_last_line_is_skipped_and_counted_then_cut_by_the_next_append(tmp_path: Path) -> None:
    store = tmp_path / "feedback.jsonl"
    append(store, Verdict(text="a vile clown", labels={"hostility": 1}))
    with open(store, "ab") as handle:  # what a crash in the middle of a write leaves
        handle.write(b'{"text": "the river runs past our sm')
    report = LoadReport()
    assert [ex.text for ex in load_labelled(store, report=report)] == ["a vile clown"]
    assert report.skipped == {UNFINISHED: 1} and "1 skipped (an unfinished last line" in report.summary()
    append(store, Verdict(text="the market", labels={"hostility": 0}))
    assert [json.loads(line)["text"] for line in store.read_text().splitlines()] == ["a vile clown", "the market"]


def test_feedback_off_is_a_404_naming_the_setting(toy_model: Path) -> None:
    from fastapi.testclient import TestClient

    from serve.app import create_app
    from serve.settings import Settings

    with TestClient(create_app(Settings(model=toy_model, backend="torch", threads=1))) as client:
        for path in ("/v1/feedback", "/v1alpha1/comments:suggestscore"):
            r = client.post(path, json={"text": "x"})
            assert r.status_code == 404 and "MODERATION_FEEDBACK_FILE" in r.json()["error"]["message"]
        assert "/v1/feedback" not in client.get("/openapi.json").json()["paths"]
