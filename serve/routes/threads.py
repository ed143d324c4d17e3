"""POST /v1/threads: upload an export, get its threads back with every comment scored."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from moderation.batch import Item, ThreadRef, error_record, make_record
from moderation.errors import ModerationError
from moderation.parsers import format_names, parse_bytes
from moderation.record import ScoredRecord
from moderation.scorer import Scores
from moderation.thread import Thread
from serve.deps import ServiceDep, charge_texts, check_access
from serve.errors import NOT_UNICODE, SURROGATE, ApiError, log_fault, responses
from serve.routes.score import FAILED
from serve.schemas import ThreadsResponse

PATH = "/v1/threads"
router = APIRouter(tags=["scoring"], dependencies=[Depends(check_access)],
                   responses=responses(401, 413, 422, 429, 503))

_BODY = {"requestBody": {"required": True, "description": "the export file, as it is", "content": {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
}}}


@router.post(PATH, response_model=ThreadsResponse, openapi_extra=_BODY)
async def threads(
    request: Request,
    service: ServiceDep,
    format: Annotated[str | None, Query(description="skip detection and read this format: "
                                        + ", ".join(format_names()),
                                        json_schema_extra={"enum": format_names()})] = None,
    filename: Annotated[str | None, Query(max_length=500, description="names the upload in "
                                          "the threads' source and in errors")] = None,
    community: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Parse an export (WXR, Disqus, saved WordPress page, Reddit JSON, copied text, thread
    JSON/JSONL; the format is detected) and score every comment. Each comment comes back as the
    record ``moderation score`` writes, or with an ``error`` in place of its scores (an empty
    comment: 422; one over the text limit: 413, with its text cut to the limit), so every
    comment of the upload is accounted for."""
    if format is not None and format not in format_names():
        raise ApiError(422, f"format: unknown format {format!r}; choose one of {', '.join(format_names())}")
    policy = service.policy_for(community)
    async with service.uploads:  # the memory peak: the others wait, their bytes unread
        body = await _read(request)
        if not body.strip():  # a forced format might read nothing as no threads
            raise ApiError(422, "the upload is empty")
        parsed = await asyncio.to_thread(_parse, body, filename or "upload", format)
        del body  # not needed while the comments are scored
    for n, thread in enumerate(parsed):
        where = _not_unicode(thread.to_dict(), f"threads.{n}")
        if where:
            raise ApiError(422, f"{where}: {NOT_UNICODE}")
    items = [Item(_ref(thread, n), comment) for n, thread in enumerate(parsed) for comment in thread.comments]
    if len(items) > service.settings.max_thread_comments:
        raise ApiError(413, f"the upload holds {len(items)} comments; the limit is "
                       f"{service.settings.max_thread_comments}: split it, or use the batch route")
    problems = [service.text_problem(item.comment.text) for item in items]
    good = [i for i, problem in enumerate(problems) if problem is None]
    charge_texts(request, len(good))
    scored = dict(zip(good, await service.score([items[i].comment.text for i in good]), strict=True))
    records: list[ScoredRecord] = []
    for i, item in enumerate(items):
        result = scored.get(i)
        if isinstance(result, Scores):
            records.append(make_record(item, result.scores, [s.written() for s in result.spans], policy))
            continue
        code, message = problems[i] or (500, FAILED)
        text = None
        if code == 413:
            # Echoed whole, a 30 MB "comment" would cost its size again in the answer.
            limit = service.settings.max_text_chars
            text = item.comment.text[:limit]
            message += f"; not scored, and cut to its first {limit} characters here"
        records.append(error_record(item, code, message, text))
    out, start = [], 0
    for thread in parsed:
        data = thread.to_dict()
        data["comments"] = [r.to_json() for r in records[start : start + len(thread.comments)]]
        start += len(thread.comments)
        out.append(data)
    failed = sum(1 for r in records if r.failed)
    answer = {"threads": out, "comments": len(records), "scored": len(records) - failed,
              "failed": failed, "model": service.model.model_dump()}
    # Rendered here: the response model's validation and serialisation would copy every string
    # of the answer twice more (it documents the shape; the tests check the answers against it).
    return Response(json.dumps(answer, ensure_ascii=False).encode("utf-8"), media_type="application/json")


async def _read(request: Request) -> bytes:
    # Not request.body(), which keeps the bytes on the request until the answer is sent.
    chunks = [chunk async for chunk in request.stream()]
    return b"".join(chunks)


def _ref(thread: Thread, number: int) -> ThreadRef:
    article = thread.article
    return ThreadRef(thread.source, article.title if article else None, str(number),
                     article.url if article else None)


def _parse(body: bytes, source: str, format: str | None) -> list[Thread]:
    try:
        return parse_bytes(body, source, format)
    except ModerationError as exc:
        raise ApiError(422, str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - whatever one upload raises stays with it
        # A parser bug on odd input is still the input's to fix: a 422 for the client, and the
        # type and place (never the content) in the log for us.
        log_fault("parser failed on an upload", exc)
        raise ApiError(422, f"{source}: the upload could not be parsed ({type(exc).__name__})") from None


def _not_unicode(value: Any, where: str) -> str | None:
    """Where in a thread's JSON form a string holds a lone surrogate (JSON input may hold
    ``\\ud800``), or None. No answer could echo that string, nor the comment be scored."""
    if isinstance(value, str):
        return where if SURROGATE.search(value) else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)  # type: ignore[assignment]
    else:
        return None
    for key, item in items:
        found = _not_unicode(item, f"{where}.{key}")
        if found:
            return found
    return None
