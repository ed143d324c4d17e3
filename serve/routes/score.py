"""POST /v1/score and /v1/score/batch."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from serve.batcher import ScoringFailed
from serve.deps import ServiceDep, charge_texts, check_access
from serve.errors import ApiError, responses
from serve.schemas import BatchRequest, BatchResponse, ScoreRequest, ScoreResponse

router = APIRouter(prefix="/v1", tags=["scoring"], dependencies=[Depends(check_access)],
                   responses=responses(401, 413, 422, 429, 503))

FAILED = "the model could not score this text"
PATH = "/v1/score"


@router.post("/score", response_model=ScoreResponse, responses=responses(500))
async def score(body: ScoreRequest, service: ServiceDep) -> dict[str, Any]:
    """Score one comment: a probability per label, the labels it is flagged for, a decision
    (allow, review, reject) and the spans of text that carry each finding."""
    labels = service.select_labels(body.labels)
    policy = service.policy_for(body.community)
    service.check_text(body.text)
    [result] = await service.score([body.text])
    if isinstance(result, ScoringFailed):
        raise ApiError(500, FAILED)
    return {**service.fields(result, labels, policy), "model": service.model}


@router.post("/score/batch", response_model=BatchResponse)
async def score_batch(body: BatchRequest, service: ServiceDep, request: Request) -> dict[str, Any]:
    """Score up to 256 comments. Results come in input order; an item that cannot be scored
    (empty: 422, too long: 413) gets an ``error`` record and the others are still scored."""
    labels = service.select_labels(body.labels)
    policy = service.policy_for(body.community)
    results: list[dict[str, Any]] = []
    good: list[int] = []
    for i, item in enumerate(body.items):
        problem = service.text_problem(item.text)
        results.append({"id": item.id, "error": {"code": problem[0], "message": f"items.{i}.text: {problem[1]}"}}
                       if problem else {"id": item.id})
        if not problem:
            good.append(i)
    charge_texts(request, len(good))
    scored = await service.score([body.items[i].text for i in good])
    for i, result in zip(good, scored, strict=True):
        if isinstance(result, ScoringFailed):
            results[i]["error"] = {"code": 500, "message": FAILED}
        else:
            results[i].update(service.fields(result, labels, policy))
    return {"results": results, "model": service.model}
