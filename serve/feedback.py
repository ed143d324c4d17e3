"""``POST /v1/feedback``: its request and answer, and how a request becomes a verdict for the
feedback store (:mod:`moderation.feedback`). Perspective's ``comments:suggestscore`` is mapped
in :mod:`serve.perspective`; both end in :meth:`serve.service.Service.store`."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from moderation.feedback import Verdict
from moderation.labels import did_you_mean
from moderation.modeldir import ModelInfo
from serve.errors import ApiError, ErrorDetail
from serve.schemas import NOT_BLANK, Str

PATH = "/v1/feedback"
SETTING = "MODERATION_FEEDBACK_FILE"
OFF = (f"feedback is off: set {SETTING} to the JSONL file verdicts are appended to (the labelled "
       "format that moderation train reads) and restart the service")



def _bit(value: float) -> int:
    if value not in (0, 1):
        raise ValueError("must be 0 or 1")
    return int(value)


# 0 or 1; as JSON Schema has it, 1.0 is 1 (and true is not).
Bit = Annotated[float, AfterValidator(_bit), Field(json_schema_extra={"enum": [0, 1]})]


class _Request(BaseModel):
    # As every request of the service: unknown fields refused, no coercion (true is not 1).
    model_config = ConfigDict(extra="forbid", strict=True)


class SpanIn(_Request):
    start: int = Field(ge=0, description="first character (code points), counted from 0")
    end: int = Field(ge=1, description="one past the last character")
    label: Str = Field(description="a label marked 1 in labels")


class FeedbackRequest(_Request):
    text: Str = Field(description="the comment, as scored", json_schema_extra={"minLength": 1,
                                                                            "pattern": NOT_BLANK})
    labels: dict[Str, Bit] = Field(
        max_length=256, description="the moderator's verdict: 1 (shows the label) or 0 (does not) "
        "for each label decided; labels left out stay unknown", json_schema_extra={"minProperties": 1})
    spans: list[SpanIn] | None = Field(
        None, max_length=256, description="the words that show a label marked 1; given for a "
        "label, they mark all of its evidence in the text")
    id: Str | None = Field(None, max_length=256, description="the comment's id in your system")
    thread: Str | None = Field(None, max_length=256, description="the thread or article it is in")
    community: Str | None = Field(None, max_length=200, description="the community it was posted "
                                  "in (moderation calibrate --community reads a sample of one)")


class FeedbackResponse(BaseModel):
    labels: dict[str, int] = Field(description="the labels stored, as decided")
    unknown: list[str] = Field(description="the model's labels the verdict leaves unknown")


def verdict(request: FeedbackRequest, info: ModelInfo) -> Verdict:
    """The verdict ``request`` states; an ApiError (422) naming the field for what does not fit
    the model or the text."""
    names = info.label_names
    problems = [ErrorDetail(field=f"labels.{name}", message=f"unknown label {name!r}"
                            f"{did_you_mean(name, names)}; this model has: {', '.join(names)}")
                for name in request.labels if name not in names]
    if not request.labels:
        problems.append(ErrorDetail(field="labels", message="decide at least one label (0 or 1)"))
    for i, span in enumerate(request.spans or ()):
        if span.end <= span.start or span.end > len(request.text):
            problems.append(ErrorDetail(field=f"spans.{i}", message=f"start {span.start} and end "
                                        f"{span.end} must satisfy start < end <= {len(request.text)} "
                                        "(the text's length in code points)"))
        if request.labels.get(span.label) != 1:
            problems.append(ErrorDetail(field=f"spans.{i}.label", message=f"{span.label!r} is not "
                                        "marked 1 in labels: a span marks evidence for a label that applies"))
    if problems:
        summary = "; ".join(f"{p.field}: {p.message}" for p in problems[:5])
        raise ApiError(422, f"invalid request: {summary}", details=problems)
    spans = tuple((s.start, s.end, s.label) for s in request.spans or ())
    # The model's label order, so that every line lists its labels alike.
    labels = {name: float(request.labels[name]) for name in names if name in request.labels}
    return Verdict(text=request.text, labels=labels, spans=spans,
                   span_labels=tuple(name for name in names if any(s[2] == name for s in spans)),
                   id=request.id, thread=request.thread, community=request.community)
