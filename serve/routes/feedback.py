"""POST /v1/feedback: a moderator's verdict on a comment, appended to the feedback store."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from serve import feedback
from serve.deps import ServiceDep, check_access
from serve.errors import ApiError, responses

PATH = feedback.PATH
router = APIRouter(prefix="/v1", tags=["feedback"], dependencies=[Depends(check_access)],
                   responses=responses(401, 413, 422, 429, 503))


async def feedback_on(request: Request) -> None:
    """404 while no store is set: before the body is read or checked."""
    service = getattr(request.app.state, "service", None)
    if service is not None and service.feedback_file is None:
        raise ApiError(404, feedback.OFF)


@router.post("/feedback", response_model=feedback.FeedbackResponse, dependencies=[Depends(feedback_on)],
             responses=responses(404))
async def post_feedback(body: feedback.FeedbackRequest, service: ServiceDep) -> feedback.FeedbackResponse:
    """Store a moderator's verdict on a comment: 1 or 0 for the labels decided (the others stay
    unknown), optionally the spans that show them, and where the comment came from. The verdict
    is appended as one line to the feedback store (``MODERATION_FEEDBACK_FILE``, in the format
    ``moderation train`` reads) and is on disk when the answer comes."""
    service.check_text(body.text)
    verdict = feedback.verdict(body, service.info)
    await service.store(verdict)
    return feedback.FeedbackResponse(
        labels={name: int(value) for name, value in verdict.labels.items()},
        unknown=[name for name in service.info.label_names if name not in verdict.labels])
