"""POST /v1alpha1/comments:analyze and :suggestscore, answering as Perspective does (see
serve/perspective.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from serve import perspective
from serve.batcher import ScoringFailed
from serve.deps import ServiceDep, check_access_perspective
from serve.errors import ApiError, responses
from serve.routes.feedback import feedback_on

PATH = "/v1alpha1/comments:analyze"
SUGGEST_PATH = "/v1alpha1/comments:suggestscore"
router = APIRouter(prefix="/v1alpha1", tags=["perspective"], dependencies=[Depends(check_access_perspective)],
                   responses=responses(400, 401, 413, 429, 503))


@router.post("/comments:analyze", response_model=perspective.AnalyzeResponse,
             response_model_exclude_none=True, responses=responses(500))
async def analyze(body: perspective.AnalyzeRequest, service: ServiceDep) -> perspective.AnalyzeResponse:
    """Perspective's ``comments:analyze``. TOXICITY is ``hostility``, SEVERE_TOXICITY the higher
    of ``threat`` and ``identity_attack``, IDENTITY_ATTACK, INSULT, PROFANITY and THREAT their
    labels; every model label is also an attribute under its upper-case name."""
    try:
        requested = perspective.check(body, service.info, service.settings.languages)
    except perspective.PerspectiveError as exc:
        raise ApiError(400, str(exc)) from None
    service.check_text(body.comment.text, "comment.text", code=400)
    [result] = await service.score([body.comment.text])
    if isinstance(result, ScoringFailed):
        raise ApiError(500, "the model could not score this text")
    return perspective.answer(body, requested, result, service.info, service.settings.languages)


@router.post("/comments:suggestscore", response_model=perspective.SuggestResponse,
             response_model_exclude_none=True, dependencies=[Depends(feedback_on)],
             responses=responses(404))
async def suggest_score(body: perspective.SuggestRequest, service: ServiceDep) -> perspective.SuggestResponse:
    """Perspective's ``comments:suggestscore``: a moderator's scores for a comment, stored in the
    feedback store as ``POST /v1/feedback`` stores a verdict. Attributes map to labels as in
    ``comments:analyze``; ``communityId`` is stored as the community."""
    try:
        verdict = perspective.suggestion(body, service.info, service.settings.languages)
    except perspective.PerspectiveError as exc:
        raise ApiError(400, str(exc)) from None
    service.check_text(body.comment.text, "comment.text", code=400)
    await service.store(verdict)
    return perspective.SuggestResponse(client_token=body.client_token, requested_languages=body.languages)
