"""The service's routes, checks and access rules, on the real app around a fake scorer."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import SEEDS
from tests.serve.fakes import FakeScorer

MakeClient = Callable[..., TestClient]


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == response.status_code
    return body["error"]


# Scoring ----------------------------------------------------------------------------------------

def test_score_returns_scores_flags_decision_spans_and_model(client: TestClient) -> None:
    r = client.post("/v1/score", json={"text": "you awful idiot"})
    assert r.status_code == 200
    body = r.json()
    assert body["scores"] == {"hostility": 0.7, "insult": 0.8, "threat": 0.01, "propaganda": 0.01}
    assert body["flags"] == ["hostility", "insult"]
    assert body["decision"] == "review"
    assert body["spans"] == [{"start": 4, "end": 9, "label": "hostility", "score": 0.9}]
    assert body["model"] == {"name": "fake", "version": "7"}


@pytest.mark.parametrize(("text", "decision"), [
    ("a quiet morning by the river", "allow"),
    ("they will get hurt", "review"),       # threat 0.6 over its 0.4 threshold
    ("what a vile thing to say", "reject"),  # the hostility headline at 0.95 >= reject_at 0.9
])
def test_decision_follows_thresholds_and_the_headline(make_client: MakeClient, text: str, decision: str) -> None:
    client = make_client(reject_at=0.9)
    assert client.post("/v1/score", json={"text": text}).json()["decision"] == decision


def test_without_a_policy_nothing_is_rejected_automatically(client: TestClient) -> None:
    body = client.post("/v1/score", json={"text": "vile"}).json()
    assert body["flags"] == ["hostility"] and body["decision"] == "review"


POLICY = """
[labels]
hostility = { review = 0.5, reject = 0.9 }

[communities.kids.labels]
hostility = { review = 0.3, reject = 0.6 }
insult = { review = 0.9 }
"""


def test_policy_file_and_its_communities_decide(make_client: MakeClient, tmp_path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    client = make_client(policy=policy)
    text = {"text": "you awful idiot"}  # hostility 0.7, insult 0.8
    default = client.post("/v1/score", json=text).json()
    assert (default["flags"], default["decision"]) == (["hostility", "insult"], "review")
    kids = client.post("/v1/score", json={**text, "community": "kids"}).json()
    assert (kids["flags"], kids["decision"]) == (["hostility"], "reject")
    r = client.post("/v1/score", json={**text, "community": "chess"})
    assert r.status_code == 422 and "unknown community 'chess'; communities: kids" in error_of(r)["message"]
    labels = client.get("/v1/labels").json()
    assert labels["communities"] == ["kids"] and labels["policy"] == "policy"
    assert (labels["labels"][0]["review"], labels["labels"][0]["reject"]) == (0.5, 0.9)
    batch = client.post("/v1/score/batch", json={"items": [{"id": "a", **text}], "community": "kids"}).json()
    assert batch["results"][0]["decision"] == "reject"


def test_labels_select_what_is_returned_but_the_decision_weighs_all(make_client: MakeClient) -> None:
    body = make_client(reject_at=0.9).post("/v1/score", json={"text": "you vile idiot", "labels": ["insult"]}).json()
    assert body["scores"] == {"insult": 0.8}
    assert body["flags"] == ["insult"]
    assert body["spans"] == []
    assert body["decision"] == "reject"


def test_unknown_label_and_unknown_community_are_named(client: TestClient) -> None:
    r = client.post("/v1/score", json={"text": "hello", "labels": ["insult", "sarcasm"]})
    assert r.status_code == 422
    message = error_of(r)["message"]
    assert "'sarcasm'" in message and "hostility, insult, threat, propaganda" in message
    r = client.post("/v1/score", json={"text": "hello", "labels": ["threats"]})
    assert "labels: unknown label(s) 'threats' (did you mean threat?); this model has" in error_of(r)["message"]
    r = client.post("/v1/score", json={"text": "hello", "community": "gardening"})
    assert r.status_code == 422
    assert "unknown community 'gardening'; communities: none" in error_of(r)["message"]


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"text": ""}, "text", "empty"),
    ({"text": "   \n "}, "text", "empty"),
    ({"text": "bad \ud800 surrogate"}, "text", "surrogate"),
    ({"text": 5}, "text", "valid string"),
    ({}, "text", "Field required"),
    ({"text": "hi", "colour": "red"}, "colour", "Extra inputs are not permitted"),
    ({"text": "hi", "labels": "insult"}, "labels", "valid list"),
    ({"text": "hi", "context": {"parent_text": 3}}, "context.parent_text", "valid string"),
])
def test_bad_input_is_a_422_that_names_the_field(client: TestClient, body: dict, field: str, words: str) -> None:
    import json

    # Sent as raw JSON so that a lone surrogate reaches the server as \ud800.
    r = client.post("/v1/score", content=json.dumps(body), headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    error = error_of(r)
    assert error["status"] == "INVALID_ARGUMENT"
    assert f"{field}: " in error["message"] and words in error["message"]


def test_text_limit_counts_characters_and_a_longer_text_is_a_413(make_client: MakeClient) -> None:
    client = make_client()
    assert client.post("/v1/score", json={"text": "é" * 20000}).status_code == 200  # 40,000 bytes
    r = client.post("/v1/score", json={"text": "x" * 20001})
    assert r.status_code == 413
    assert ("text: the text is 20001 characters; the limit is 20000 (MODERATION_MAX_TEXT_CHARS)"
            in error_of(r)["message"])
    client = make_client(max_text_chars=10)
    assert client.post("/v1/score", json={"text": "0123456789"}).status_code == 200
    assert client.post("/v1/score", json={"text": "0123456789a"}).status_code == 413
    r = analyze(client, "0123456789a", "TOXICITY")
    assert r.status_code == 400 and "limit is 10" in error_of(r)["message"]  # Perspective's status


def test_invalid_json_is_a_422(client: TestClient) -> None:
    r = client.post("/v1/score", content=b'{"text": "unterminated', headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "not valid JSON" in error_of(r)["message"]
    assert error_of(r)["message"].startswith("invalid request: body: ")
    assert [d["field"] for d in error_of(r)["details"]] == ["body"]


def test_oversized_bodies_get_a_413_json_whether_declared_or_streamed(make_client: MakeClient) -> None:
    client = make_client(max_score_body_bytes=2048)
    big = b'{"text": "' + b"a" * 4000 + b'"}'
    r = client.post("/v1/score", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "2048 bytes" in error_of(r)["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit counts what arrives
        for i in range(0, len(big), 500):
            yield big[i : i + 500]

    r = client.post("/v1/score", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["status"] == "REQUEST_ENTITY_TOO_LARGE"


def test_wrong_method_and_path_are_json_errors(client: TestClient) -> None:
    assert error_of(client.get("/v1/score"))["code"] == 405
    assert error_of(client.get("/v1/nothing"))["status"] == "NOT_FOUND"


# Batches ----------------------------------------------------------------------------------------

def test_batch_keeps_input_order_and_a_bad_item_does_not_sink_the_others(make_client: MakeClient) -> None:
    client = make_client(reject_at=0.9)
    items = [
        {"id": "1", "text": "vile"},
        {"id": "2", "text": ""},
        {"id": "3", "text": "it will explode"},
        {"id": "4", "text": "x" * 30000},
        {"id": "5", "text": "a calm reply"},
    ]
    r = client.post("/v1/score/batch", json={"items": items, "labels": ["hostility"]})
    assert r.status_code == 200
    results = r.json()["results"]
    assert [res["id"] for res in results] == ["1", "2", "3", "4", "5"]
    assert results[0]["scores"] == {"hostility": 0.95} and results[0]["decision"] == "reject"
    assert results[1]["error"] == {"code": 422, "message": "items.1.text: the text is empty"}
    assert results[2]["error"]["code"] == 500 and "scores" not in results[2]
    assert results[3]["error"]["code"] == 413 and "limit is 20000" in results[3]["error"]["message"]
    assert results[4]["decision"] == "allow"


def test_batch_size_is_bounded(client: TestClient) -> None:
    items = [{"id": str(i), "text": "ok"} for i in range(257)]
    r = client.post("/v1/score/batch", json={"items": items})
    assert r.status_code == 422 and "items" in error_of(r)["message"]
    assert client.post("/v1/score/batch", json={"items": items[:256]}).status_code == 200
    assert client.post("/v1/score/batch", json={"items": []}).status_code == 422


# Threads ----------------------------------------------------------------------------------------

def test_thread_upload_comes_back_parsed_with_every_comment_scored(client: TestClient) -> None:
    from moderation.parsers import parse_file

    path = SEEDS / "wordpress-export.xml"
    expected = list(parse_file(path))
    r = client.post("/v1/threads?filename=wordpress-export.xml", content=path.read_bytes(),
                    headers={"Content-Type": "application/xml"})
    assert r.status_code == 200
    body = r.json()
    assert len(body["threads"]) == len(expected)
    total = sum(len(t.comments) for t in expected)
    assert body["comments"] == total == body["scored"] + body["failed"] and total > 0
    for got, want in zip(body["threads"], expected, strict=True):
        assert got["source"] == "wordpress-export.xml" and got["format"] == want.format
        assert [c["id"] for c in got["comments"]] == [c.id for c in want.comments]
        assert want.article is not None
        for comment, original in zip(got["comments"], want.comments, strict=True):
            # The record moderation score writes, and the comment's own fields.
            assert comment["thread"] == {"source": "wordpress-export.xml", "title": want.article.title}
            assert comment["kind"] == "comment" and comment["author"] == original.author
            assert comment["text"] == original.text
            assert ("scores" in comment) != ("error" in comment)
            if "scores" in comment:
                assert set(comment["scores"]) == {"hostility", "insult", "threat", "propaganda"}


def test_thread_upload_errors_say_what_is_wrong(make_client: MakeClient) -> None:
    client = make_client(max_upload_bytes=4096, max_thread_comments=3)
    r = client.post("/v1/threads", content=b"")
    assert r.status_code == 422 and "empty" in error_of(r)["message"]
    r = client.post("/v1/threads?format=pdf", content=b"x")
    assert r.status_code == 422 and "unknown format 'pdf'" in error_of(r)["message"]
    r = client.post("/v1/threads", content=b"<" * 5000)
    assert r.status_code == 413 and "4096" in error_of(r)["message"]
    thread = {"source": "s", "comments": [{"id": str(i), "text": "hello"} for i in range(4)]}
    import json

    r = client.post("/v1/threads", content=json.dumps(thread).encode())
    assert r.status_code == 413 and "holds 4 comments; the limit is 3" in error_of(r)["message"]


def test_an_upload_within_the_comment_limit_is_scored_not_answered_503(client: TestClient) -> None:
    import json

    # More than the queue used to hold (4,096), within the default comment limit.
    thread = {"source": "s", "comments": [{"id": str(i), "text": f"comment {i}"} for i in range(5000)]}
    r = client.post("/v1/threads", content=json.dumps(thread).encode())
    assert r.status_code == 200 and r.json()["scored"] == 5000


def test_an_uploaded_comment_over_the_text_limit_is_a_413_record_cut_to_the_limit(make_client: MakeClient) -> None:
    import json

    client = make_client(max_text_chars=50)
    thread = {"source": "s", "comments": [{"id": "a", "text": "vile"}, {"id": "b", "text": "x" * 5000}]}
    body = client.post("/v1/threads", content=json.dumps(thread).encode()).json()
    long = body["threads"][0]["comments"][1]
    assert long["id"] == "b" and long["text"] == "x" * 50 and "scores" not in long
    assert long["error"]["code"] == 413
    assert long["error"]["message"].startswith("the text is 5000 characters; the limit is 50")
    assert (body["scored"], body["failed"]) == (1, 1)


def test_uploads_are_read_and_parsed_a_few_at_a_time(make_client: MakeClient,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import json
    import threading
    import time

    import httpx

    from serve.routes import threads

    parse, running, most = threads._parse, [0], [0]
    lock = threading.Lock()

    def slow_parse(*args):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        try:
            return parse(*args)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(threads, "_parse", slow_parse)
    client = make_client(max_uploads=2)
    upload = json.dumps({"source": "s", "comments": [{"id": "a", "text": "hello"}]}).encode()

    async def six_at_once() -> list[int]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            answers = await asyncio.gather(*(http.post("/v1/threads", content=upload) for _ in range(6)))
        return [r.status_code for r in answers]

    assert client.portal is not None
    assert client.portal.call(six_at_once) == [200] * 6  # in the app's own event loop
    assert most[0] == 2


def test_each_route_has_its_body_limit(make_client: MakeClient) -> None:
    client = make_client(max_score_body_bytes=2048, max_body_bytes=8192)
    text = "a" * 3000
    r = client.post("/v1/score", json={"text": text})
    assert r.status_code == 413 and "2048 bytes" in error_of(r)["message"]
    assert analyze(client, text, "TOXICITY").status_code == 413
    r = client.post("/v1/score/batch", json={"items": [{"id": "a", "text": text}]})
    assert r.status_code == 200


def test_thread_comment_with_empty_text_gets_an_error_record(client: TestClient) -> None:
    import json

    thread = {"source": "s", "comments": [{"id": "a", "text": "vile"}, {"id": "b", "text": ""}]}
    body = client.post("/v1/threads", content=json.dumps(thread).encode()).json()
    comments = body["threads"][0]["comments"]
    assert comments[0]["flags"] == ["hostility"]
    assert comments[1]["error"] == {"code": 422, "message": "the text is empty"}
    assert comments[1]["id"] == "b" and "scores" not in comments[1]
    assert (body["scored"], body["failed"]) == (1, 1)


# Perspective ------------------------------------------------------------------------------------

def analyze(client: TestClient, text: str, *attributes: str, **extra: object):
    body = {"comment": {"text": text}, "requestedAttributes": {a: {} for a in attributes}, **extra}
    return client.post("/v1alpha1/comments:analyze", json=body)


def test_perspective_request_is_answered_in_perspective_shape(client: TestClient) -> None:
    r = analyze(client, "you awful idiot", "TOXICITY", "INSULT", "THREAT", "SEVERE_TOXICITY",
                languages=["en"], doNotStore=True, spanAnnotations=True, clientToken="t-1")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"attributeScores", "languages", "clientToken"}
    assert body["languages"] == ["en"] and body["clientToken"] == "t-1"
    scores = body["attributeScores"]
    assert scores["TOXICITY"]["summaryScore"] == {"value": 0.7, "type": "PROBABILITY"}
    assert scores["INSULT"]["summaryScore"]["value"] == 0.8
    assert scores["SEVERE_TOXICITY"]["summaryScore"]["value"] == 0.01  # the fake has threat only
    # hostility has evidence spans: the word; insult has none: the whole text.
    assert scores["TOXICITY"]["spanScores"] == [
        {"begin": 4, "end": 9, "score": {"value": 0.9, "type": "PROBABILITY"}}]
    assert scores["INSULT"]["spanScores"] == [
        {"begin": 0, "end": 15, "score": {"value": 0.8, "type": "PROBABILITY"}}]


def test_perspective_leaves_out_spans_unless_asked_and_scores_under_the_threshold(client: TestClient) -> None:
    body = {"comment": {"text": "you awful idiot"},
            "requestedAttributes": {"TOXICITY": {"scoreThreshold": 0.75}, "INSULT": {"scoreType": "PROBABILITY"}}}
    scores = client.post("/v1alpha1/comments:analyze", json=body).json()["attributeScores"]
    assert list(scores) == ["INSULT"]
    assert "spanScores" not in scores["INSULT"]


def test_model_labels_are_attributes_under_their_upper_case_names(client: TestClient) -> None:
    r = analyze(client, "the traitors", "PROPAGANDA")
    assert r.json()["attributeScores"]["PROPAGANDA"]["summaryScore"]["value"] == 0.75


@pytest.mark.parametrize(("body", "words"), [
    ({"requestedAttributes": {"PROFANITY": {}}},
     "Unknown attribute: PROFANITY (model fake lacks the label(s) profanity)"),
    ({"requestedAttributes": {"FLIRTATION": {}}}, "Unknown attribute: FLIRTATION (no such attribute)"),
    ({"requestedAttributes": {"TOXICITY": {}}, "languages": ["en", "de"]},
     "Attribute TOXICITY does not support request languages: de"),
    ({"requestedAttributes": {"TOXICITY": {"scoreType": "RAW"}}}, "does not support score type RAW"),
    ({"requestedAttributes": {}}, "at least one attribute"),
    ({"requestedAttributes": {"TOXICITY": {}}, "comment": {"text": ""}}, "comment.text: the text is empty"),
    ({"requestedAttributes": {"TOXICITY": {}}, "comment": {"text": 3}}, "comment.text: Input should be a valid string"),
    ({"requestedAttributes": {"TOXICITY": {}}, "comment": {"text": "a", "type": "HTML"}}, "comment.type"),
    ({"requestedAttributes": {"TOXICITY": {"scoreThreshold": 2}}}, "scoreThreshold"),
    ({"requestedAttributes": {"TOXICITY": {}}, "surprise": 1}, "surprise: Extra inputs"),
])
def test_perspective_errors_are_400_in_perspective_shape(client: TestClient, body: dict, words: str) -> None:
    r = client.post("/v1alpha1/comments:analyze", json={"comment": {"text": "hello"}, **body})
    assert r.status_code == 400
    error = error_of(r)
    assert error["status"] == "INVALID_ARGUMENT"
    assert words in error["message"]


def test_perspective_languages_match_on_the_primary_subtag(client: TestClient) -> None:
    r = analyze(client, "hello", "TOXICITY", languages=["en-GB"])
    assert r.status_code == 200 and r.json()["languages"] == ["en-GB"]


# Model information and operations ---------------------------------------------------------------

def test_labels_come_from_the_model(client: TestClient) -> None:
    body = client.get("/v1/labels").json()
    assert [label["name"] for label in body["labels"]] == ["hostility", "insult", "threat", "propaganda"]
    assert body["labels"][1] == {"name": "insult", "group": "hostility", "headline": False,
                                 "description": "Insulting.", "threshold": 0.6, "review": 0.6,
                                 "reject": None, "spans": False}
    assert body["labels"][0]["headline"] and body["labels"][0]["spans"]
    assert body["policy"] == "model thresholds" and body["communities"] == []
    models = client.get("/v1/models").json()["models"]
    assert models == [{"name": "fake", "version": "7", "base_model": "none", "finetune": "lora",
                       "labels": ["hostility", "insult", "threat", "propaganda"], "max_length": 256,
                       "stride": 64, "backend": "fake", "loaded": True}]


def test_health_readiness_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["model"]["name"] == "fake"
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/score", "/v1/score/batch", "/v1/threads", "/v1/labels", "/v1/models",
                 "/healthz", "/readyz", "/metrics", "/v1alpha1/comments:analyze"):
        assert path in paths
    assert client.get("/docs").status_code == 200


def test_the_schema_states_what_the_service_checks(make_client: MakeClient) -> None:
    client = make_client(max_text_chars=500)
    models = client.get("/openapi.json").json()["components"]["schemas"]
    score = models["ScoreRequest"]["properties"]
    assert score["text"]["minLength"] == 1 and score["text"]["maxLength"] == 500 and score["text"]["pattern"]
    assert score["labels"]["minItems"] == 1
    assert score["labels"]["anyOf"][0]["items"]["enum"] == ["hostility", "insult", "threat", "propaganda"]
    assert score["community"] == {"type": "null", "title": "Community"}  # no policy communities
    attributes = models["AnalyzeRequest"]["properties"]["requestedAttributes"]
    assert attributes["minProperties"] == 1 and "TOXICITY" in attributes["propertyNames"]["enum"]
    assert models["TextEntry"]["properties"]["text"]["maxLength"] == 500


def test_a_server_process_freezes_what_start_up_left_alive(fake: FakeScorer) -> None:
    from serve.app import create_app
    from serve.deps import load_scorer
    from serve.settings import Settings

    gc.unfreeze()
    try:
        for freeze, frozen in ((False, False), (True, True)):
            app = create_app(Settings(), freeze_heap=freeze)
            app.dependency_overrides[load_scorer] = lambda _settings: fake
            with TestClient(app) as client:
                assert client.get("/readyz").status_code == 200
                assert (gc.get_freeze_count() > 0) is frozen
                # The collector still runs on what requests allocate.
                assert gc.isenabled()
    finally:
        gc.unfreeze()


def test_readiness_fails_when_the_model_stops_answering(client: TestClient, fake: FakeScorer,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(texts):
        raise RuntimeError("wedged")

    monkeypatch.setattr(fake, "score_batch", broken)
    r = client.get("/readyz")
    assert r.status_code == 503 and "probe" in error_of(r)["message"]
    assert client.get("/readyz").status_code == 503  # the failure is shared as well
    assert client.get("/healthz").status_code == 200


def test_readiness_probes_are_shared_for_a_few_seconds(make_client: MakeClient, fake: FakeScorer) -> None:
    import time

    # A window far longer than fifty calls take, however busy the machine: one probe answers all.
    client = make_client(ready_cache_s=60)
    before = len(fake.calls)
    answers = [client.get("/readyz").json() for _ in range(50)]
    assert len(fake.calls) == before + 1  # one probe for fifty calls
    assert all(a["status"] == "ready" for a in answers)
    assert answers[-1]["probe_age_s"] >= answers[0]["probe_age_s"]  # the same probe, older
    # Once the window has passed, the next call probes again.
    short = make_client(ready_cache_s=0.2)
    before = len(fake.calls)
    short.get("/readyz")
    time.sleep(0.3)
    assert short.get("/readyz").json()["probe_age_s"] < 0.2
    assert len(fake.calls) == before + 2
    uncached = make_client(ready_cache_s=0)
    before = len(fake.calls)
    for _ in range(3):
        uncached.get("/readyz")
    assert len(fake.calls) == before + 3


def test_readiness_is_a_503_when_the_queue_is_full(make_client: MakeClient) -> None:
    from fastapi import FastAPI

    client = make_client(max_queue=256, max_thread_comments=256, ready_cache_s=0)
    assert isinstance(client.app, FastAPI)
    client.app.state.service.batcher._queued = 256  # as if 256 texts were waiting
    r = client.get("/readyz")
    assert r.status_code == 503 and "queue is full" in error_of(r)["message"] and r.headers["Retry-After"]
    client.app.state.service.batcher._queued = 0


def test_concurrent_readiness_calls_wait_for_the_probe_in_progress(make_client: MakeClient, fake: FakeScorer,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import time

    import httpx

    client = make_client(ready_cache_s=0)
    score_batch = fake.score_batch

    def slow_score_batch(texts):
        time.sleep(0.1)
        return score_batch(texts)

    monkeypatch.setattr(fake, "score_batch", slow_score_batch)
    before = len(fake.calls)

    async def twenty_at_once() -> list[int]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return [r.status_code for r in await asyncio.gather(*(http.get("/readyz") for _ in range(20)))]

    assert client.portal is not None
    assert client.portal.call(twenty_at_once) == [200] * 20
    assert len(fake.calls) == before + 1


def test_metrics_count_requests_by_route_and_status_and_record_batches(client: TestClient) -> None:
    client.post("/v1/score", json={"text": "hello"})
    client.post("/v1/score", json={"text": ""})
    client.post("/v1/score/batch", json={"items": [{"id": str(i), "text": "x"} for i in range(5)]})
    text = client.get("/metrics").text
    assert 'moderation_http_requests_total{method="POST",route="/v1/score",status="200"} 1.0' in text
    assert 'moderation_http_requests_total{method="POST",route="/v1/score",status="422"} 1.0' in text
    assert 'moderation_http_request_duration_seconds_bucket{le="0.1",route="/v1/score/batch"}' in text
    # The start-up probe, one text, then five texts: at least 7 texts through the model.
    assert "moderation_texts_scored_total 7.0" in text
    assert "moderation_model_batch_size_count" in text and "moderation_model_duration_seconds_sum" in text


def test_comment_text_is_never_logged(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    secret = "zebra-violin-7731"
    with caplog.at_level(logging.DEBUG):
        client.post("/v1/score", json={"text": f"{secret} awful"})
        client.post("/v1/score/batch", json={"items": [{"id": "a", "text": f"{secret} explode"}]})
        client.post("/v1/score", json={"text": 7, "context": {"parent_text": secret}})
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "POST /v1/score 200" in logged  # the access log is there...
    assert "RuntimeError" in logged        # ...and so is the model failure...
    assert secret not in logged            # ...without the text


# Invalid Unicode and faults ---------------------------------------------------------------------

_ANALYZE = "/v1alpha1/comments:analyze"


@pytest.mark.parametrize(("path", "body", "code", "field"), [
    (_ANALYZE, {"comment": {"text": "hi"}, "requestedAttributes": {"\ud800": {}}}, 400,
     ".[key]"),  # pydantic names the key lossily
    (_ANALYZE, {"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}, "languages": ["\ud800"]},
     400, "languages.0"),
    (_ANALYZE, {"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}, "clientToken": "\ud800"},
     400, "clientToken"),
    ("/v1/score/batch", {"items": [{"id": "\ud800", "text": "hi"}]}, 422, "items.0.id"),
    ("/v1/score", {"text": "hi", "labels": ["\ud800"]}, 422, "labels.0"),
])
def test_a_lone_surrogate_anywhere_is_a_4xx_naming_where(client: TestClient, caplog: pytest.LogCaptureFixture,
                                                         path: str, body: dict, code: int, field: str) -> None:
    import json

    with caplog.at_level(logging.DEBUG):
        r = client.post(path, content=json.dumps(body), headers={"Content-Type": "application/json"})
    assert r.status_code == code
    r.content.decode("utf-8")  # the answer is valid UTF-8
    message = error_of(r)["message"]
    assert field in message and "unpaired UTF-16 surrogate" in message
    assert not any(record.exc_info for record in caplog.records)


def test_an_upload_with_a_lone_surrogate_is_repaired_or_refused_never_a_500(
        client: TestClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from moderation.thread import Comment, Thread
    from serve.routes import threads

    upload = json.dumps({"source": "s", "comments": [{"id": "a", "text": "bad \ud800 text"}]}).encode()
    with caplog.at_level(logging.DEBUG):
        r = client.post("/v1/threads", content=upload)
    r.content.decode("utf-8")
    assert not any(record.exc_info for record in caplog.records)
    if r.status_code == 200:  # the JSON reader replaces it, and says so
        assert "surrogate" in " ".join(r.json()["threads"][0]["warnings"])
    else:
        assert r.status_code == 422 and "unpaired UTF-16 surrogate" in error_of(r)["message"]
    # Whatever a parser lets through is refused here, by where it is.
    bad = Thread(source="s", format="json", comments=(Comment(id="a", author="x\udfff", text="ok"),))
    monkeypatch.setattr(threads, "_parse", lambda *args: [bad])
    r = client.post("/v1/threads", content=upload)
    assert r.status_code == 422
    assert error_of(r)["message"].startswith("threads.0.comments.0.author: holds an unpaired UTF-16 surrogate")


def test_an_unexpected_fault_is_a_500_json_logged_by_type_and_place_only(
        client: TestClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    from serve.service import Service

    def broken(self, scores, labels, policy):
        raise ValueError("a message quoting zebra-violin-7731")

    monkeypatch.setattr(Service, "fields", broken)
    with caplog.at_level(logging.DEBUG):
        r = client.post("/v1/score", json={"text": "zebra-violin-7731"})
    assert r.status_code == 500 and error_of(r)["status"] == "INTERNAL"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "internal error on POST /v1/score: ValueError at " in logged and "service.py" not in logged
    assert "zebra-violin-7731" not in logged
    # Answered here, not re-raised for the server to log with its traceback.
    assert not any(record.exc_info for record in caplog.records)


# Access -----------------------------------------------------------------------------------------

def test_api_keys_from_settings_and_file(make_client: MakeClient, tmp_path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("# one per line\nfile-key\n")
    client = make_client(api_keys=["env-key"], api_keys_file=keys)
    r = client.post("/v1/score", json={"text": "hi"})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    assert "API key is required" in error_of(r)["message"]
    assert client.post("/v1/score", json={"text": "hi"}, headers={"X-API-Key": "nope"}).status_code == 401
    assert client.post("/v1/score", json={"text": "hi"}, headers={"X-API-Key": "env-key"}).status_code == 200
    assert client.post("/v1/score", json={"text": "hi"},
                       headers={"Authorization": "Bearer file-key"}).status_code == 200
    assert client.get("/v1/labels").status_code == 401
    assert client.post("/v1/score?key=env-key", json={"text": "hi"}).status_code == 401  # Perspective only
    r = client.post("/v1alpha1/comments:analyze?key=file-key",
                    json={"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}})
    assert r.status_code == 200
    for open_path in ("/healthz", "/readyz", "/metrics"):
        assert client.get(open_path).status_code == 200


def test_rate_limit_per_key_answers_429_with_retry_after(make_client: MakeClient) -> None:
    client = make_client(api_keys=["a", "b"], rate_limit=0.5, rate_burst=2)
    send = lambda key: client.post("/v1/score", json={"text": "hi"}, headers={"X-API-Key": key})  # noqa: E731
    assert [send("a").status_code for _ in range(2)] == [200, 200]
    r = send("a")
    assert r.status_code == 429 and r.headers["Retry-After"] == "2"
    assert error_of(r)["status"] == "RESOURCE_EXHAUSTED"
    assert send("b").status_code == 200  # per key


def test_rate_limit_counts_texts_not_requests(make_client: MakeClient) -> None:
    import json

    client = make_client(api_keys=["a"], rate_limit=1, rate_burst=10)
    key = {"X-API-Key": "a"}
    items = [{"id": str(i), "text": "hello"} for i in range(30)]
    assert client.post("/v1/score/batch", json={"items": items}, headers=key).status_code == 200
    # 30 texts from a bucket of 10: 20 in debt, so even one more text waits some 21 s.
    r = client.post("/v1/score", json={"text": "hi"}, headers=key)
    assert r.status_code == 429 and 20 <= int(r.headers["Retry-After"]) <= 22
    assert "texts/s" in error_of(r)["message"]
    # An upload costs its comments.
    client = make_client(api_keys=["b"], rate_limit=1, rate_burst=10)
    thread = {"source": "s", "comments": [{"id": str(i), "text": "hello"} for i in range(15)]}
    r = client.post("/v1/threads", content=json.dumps(thread).encode(), headers={"X-API-Key": "b"})
    assert r.status_code == 200
    assert client.post("/v1/score", json={"text": "hi"}, headers={"X-API-Key": "b"}).status_code == 429


def test_wrong_keys_are_limited_per_address(make_client: MakeClient) -> None:
    client = make_client(api_keys=["right"], auth_failures=3, auth_failure_window_s=60)
    send = lambda key: client.post("/v1/score", json={"text": "hi"}, headers={"X-API-Key": key})  # noqa: E731
    assert client.post("/v1/score", json={"text": "hi"}).status_code == 401  # no key: not a guess
    assert [send(f"guess-{i}").status_code for i in range(3)] == [401, 401, 401]
    r = send("guess-3")
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 20
    assert "too many wrong API keys" in error_of(r)["message"]
    assert send("right").status_code == 429  # nothing more to learn from this address for now
    assert client.get("/healthz").status_code == 200
    assert make_client(api_keys=["right"], auth_failures=0).post(  # 0: off
        "/v1/score", json={"text": "hi"}, headers={"X-API-Key": "x"}).status_code == 401


def test_token_bucket_refills_at_its_rate_and_may_go_into_debt() -> None:
    from serve.limits import RateLimiter

    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    assert [limiter.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("k") == pytest.approx(0.5)
    now[0] = 0.5
    assert limiter.take("k") == 0.0 and limiter.take("k") > 0
    assert RateLimiter(rate=0, burst=1).take("k") == 0.0  # off
    now[0] = 10.0  # full again
    assert limiter.take("k", cost=7) == 0.0  # more than the burst: admitted, 4 in debt
    assert limiter.wait("k") == pytest.approx(2.5)


def test_cors_is_off_by_default_and_configurable(make_client: MakeClient) -> None:
    preflight = {"Origin": "https://news.example", "Access-Control-Request-Method": "POST"}
    r = make_client().post("/v1/score", json={"text": "hi"}, headers={"Origin": "https://news.example"})
    assert "access-control-allow-origin" not in r.headers
    client = make_client(cors_origins=["https://news.example"])
    r = client.options("/v1/score", headers=preflight)
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://news.example"
    r = client.options("/v1/score", headers={**preflight, "Origin": "https://other.example"})
    assert r.status_code == 400 and "access-control-allow-origin" not in r.headers
