"""The real server: ``moderation serve`` in a subprocess (uvicorn on loopback) with the toy
model, called over HTTP with httpx."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, SEEDS
from tests.server import serving

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 2.0



@pytest.fixture(scope="module")
def log_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("server") / "server.log"


@pytest.fixture(scope="module")
def server(toy_model: Path, log_file: Path) -> Iterator[str]:
    # A longer gathering window than the default, so concurrent requests reliably share calls;
    # short deadlines for slow clients, so the tests of them are quick.
    env = {**os.environ, "MODERATION_MAX_WAIT_MS": "30", "MODERATION_THREADS": "1",
           "MODERATION_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT), "MODERATION_BODY_TIMEOUT_S": str(BODY_TIMEOUT)}
    env.pop("MODERATION_BACKEND", None)  # the default backend is under test
    with serving([sys.executable, "-m", "moderation.cli", "serve", "--model", str(toy_model)],
                 cwd=REPO, env=env, log=log_file) as url:
        yield url


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


# Slow and odd clients, on raw sockets -----------------------------------------------------------

def _connect(server: str) -> socket.socket:
    host, port = server.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def _response(sock: socket.socket) -> tuple[int, bytes]:
    """Status and body of one HTTP/1.1 answer (with Content-Length) read from ``sock``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split(b" ", 2)[1]), body


def _closed_within(sock: socket.socket, seconds: float, trickle: bytes | None = None) -> float:
    """Seconds until the server closes ``sock`` (sending ``trickle`` every 0.2 s meanwhile)."""
    start = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - start < seconds:
        try:
            if not sock.recv(65536):
                return time.monotonic() - start
        except TimeoutError:
            pass
        except ConnectionResetError:
            return time.monotonic() - start
        if trickle:
            try:
                sock.sendall(trickle)
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - start
    raise AssertionError(f"the connection was still open after {seconds} s")


def test_real_server_closes_connections_whose_headers_come_slowly_or_never(server: str) -> None:
    slow = _connect(server)
    slow.sendall(b"POST /v1/score HTTP/1.1\r\nHost: x\r\n")
    # A header line every 0.2 s would keep it open for ever without the header deadline.
    assert _closed_within(slow, HEADER_TIMEOUT + 2, trickle=b"X-Slow: 1\r\n") >= HEADER_TIMEOUT - 0.2
    silent = _connect(server)
    assert _closed_within(silent, HEADER_TIMEOUT + 2) >= HEADER_TIMEOUT - 0.2
    # On a keep-alive connection the next request's headers are due as well.
    kept = _connect(server)
    kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert _response(kept)[0] == 200
    kept.sendall(b"GET /healthz HTTP/1.1\r\n")
    assert _closed_within(kept, HEADER_TIMEOUT + 2, trickle=b"X-Slow: 1\r\n") < HEADER_TIMEOUT + 1


def test_real_server_answers_a_slow_body_with_408_and_closes(server: str) -> None:
    sock = _connect(server)
    sock.sendall(b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 100\r\n\r\n{\"text\": \"slo")
    start = time.monotonic()
    status, body = _response(sock)
    assert status == 408 and b"did not arrive within" in body
    assert BODY_TIMEOUT - 0.2 <= time.monotonic() - start < BODY_TIMEOUT + 2
    assert _closed_within(sock, 2) < 2


def test_real_server_refuses_oversized_headers_with_431(server: str) -> None:
    sock = _connect(server)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
    assert _response(sock)[0] == 431
    assert _closed_within(sock, 2) < 2


def test_real_server_answers_a_lone_surrogate_with_400_and_keeps_the_connection(server: str, log_file: Path) -> None:
    sock = _connect(server)
    body = b'{"comment": {"text": "hi"}, "requestedAttributes": {"\\ud800": {}}, "languages": ["\\udfff"]}'
    sock.sendall(b"POST /v1alpha1/comments:analyze HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    status, answer = _response(sock)
    assert status == 400 and b"unpaired UTF-16 surrogate" in answer
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")  # the same connection
    assert _response(sock)[0] == 200
    time.sleep(0.2)
    assert "Traceback" not in log_file.read_text()
