"""The real server: ``moderation serve`` in a subprocess (uvicorn on loopback) with the toy
model, called over HTTP with httpx."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, SEEDS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def log_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("server") / "server.log"


@pytest.fixture(scope="module")
def server(toy_model: Path, log_file: Path) -> Iterator[str]:
    port = _free_port()
    # A longer gathering window than the default, so concurrent requests reliably share calls.
    env = {**os.environ, "MODERATION_MAX_WAIT_MS": "30", "MODERATION_THREADS": "1"}
    env.pop("MODERATION_BACKEND", None)  # the default backend is under test
    log = open(log_file, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "moderation.cli", "serve", "--model", str(toy_model), "--port", str(port)],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"the server exited: {log_file.read_text()}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the server did not start within 120 s")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_real_server_scores_a_comment_and_points_at_the_words(server: str) -> None:
    assert httpx.get(f"{server}/readyz").json()["status"] == "ready"
    body = httpx.post(f"{server}/v1/score", json={"text": "the river is vile and awful"}).json()
    assert set(body["scores"]) == {"hostility", "insult", "threat"}
    assert body["scores"]["hostility"] > 0.5 and "hostility" in body["flags"]
    assert body["decision"] in ("review", "reject")
    marked = {(s["start"], s["end"]) for s in body["spans"] if s["label"] == "hostility"}
    assert (13, 17) in marked or (22, 27) in marked  # "vile" or "awful"
    calm = httpx.post(f"{server}/v1/score", json={"text": "the river runs past our small town"}).json()
    assert calm["scores"]["hostility"] < 0.5 and calm["decision"] == "allow"
    assert body["model"]["name"] == calm["model"]["name"]
    # ONNX Runtime int8 unless told otherwise
    assert httpx.get(f"{server}/v1/models").json()["models"][0]["backend"] == "onnx-int8"


def test_real_server_batch_perspective_and_threads(server: str) -> None:
    items = [{"id": "a", "text": "you idiot"}, {"id": "b", "text": ""}, {"id": "c", "text": "bread and coffee"}]
    results = httpx.post(f"{server}/v1/score/batch", json={"items": items}).json()["results"]
    assert [r["id"] for r in results] == ["a", "b", "c"]
    assert results[0]["scores"]["insult"] > results[2]["scores"]["insult"]
    assert results[1]["error"]["code"] == 422

    r = httpx.post(f"{server}/v1alpha1/comments:analyze", json={
        "comment": {"text": "what a rotten clown"}, "languages": ["en"], "spanAnnotations": True,
        "requestedAttributes": {"TOXICITY": {}, "INSULT": {}, "THREAT": {}},
    })
    assert r.status_code == 200
    scores = r.json()["attributeScores"]
    assert scores["TOXICITY"]["summaryScore"]["value"] > 0.5
    assert {"begin", "end", "score"} <= set(scores["TOXICITY"]["spanScores"][0])
    r = httpx.post(f"{server}/v1alpha1/comments:analyze",
                   json={"comment": {"text": "hi"}, "requestedAttributes": {"SEVERE_TOXICITY": {}, "PROFANITY": {}}})
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"

    upload = (SEEDS / "disqus-export.xml").read_bytes()
    body = httpx.post(f"{server}/v1/threads", content=upload, timeout=60).json()
    assert body["comments"] > 0 and body["scored"] + body["failed"] == body["comments"]
    comment = next(c for t in body["threads"] for c in t["comments"] if "scores" in c)
    assert set(comment["scores"]) == {"hostility", "insult", "threat"} and comment["id"]


def test_real_server_gathers_concurrent_requests_and_counts_them(server: str) -> None:
    def batch_counts() -> tuple[float, float]:
        text = httpx.get(f"{server}/metrics").text
        count = float(re.search(r"^moderation_model_batch_size_count (\S+)$", text, re.M).group(1))  # type: ignore[union-attr]
        total = float(re.search(r"^moderation_model_batch_size_sum (\S+)$", text, re.M).group(1))  # type: ignore[union-attr]
        return count, total

    before = batch_counts()

    async def burst() -> list[int]:
        async with httpx.AsyncClient(base_url=server) as client:
            responses = await asyncio.gather(*(client.post("/v1/score", json={"text": f"coffee {i}"})
                                               for i in range(16)))
        return [r.status_code for r in responses]

    assert asyncio.run(burst()) == [200] * 16
    calls, texts = (a - b for a, b in zip(batch_counts(), before, strict=True))
    assert texts == 16
    assert calls < 16  # some requests shared a model call
    metrics = httpx.get(f"{server}/metrics").text
    assert 'moderation_http_requests_total{method="POST",route="/v1/score",status="200"}' in metrics
    assert "moderation_model_duration_seconds_count" in metrics


def test_real_server_logs_requests_but_never_their_text(server: str, log_file: Path) -> None:
    secret = "market bridge music"  # words the toy model knows
    httpx.post(f"{server}/v1/score", json={"text": secret})
    httpx.post(f"{server}/v1alpha1/comments:analyze?key=not-logged-either",
               json={"comment": {"text": secret}, "requestedAttributes": {"TOXICITY": {}}})
    time.sleep(0.3)
    log = log_file.read_text()
    assert "loaded in" in log and "probe answered" in log
    assert "POST /v1/score 200" in log and "POST /v1alpha1/comments:analyze 200" in log
    assert secret not in log and "not-logged-either" not in log
