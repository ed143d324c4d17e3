"""The service's request and response bodies (pydantic lives here, at the edge, only).

Requests forbid unknown fields, so a misspelt field is an error instead of being ignored. Text
limits (empty, too long) are checked by the routes, not here: a batch answers a bad item with an
error record and still scores the good ones.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from moderation.policy import Decision
from serve.errors import NOT_UNICODE, SURROGATE

MAX_BATCH_ITEMS = 256


def _valid_unicode(value: str) -> str:
    if SURROGATE.search(value):
        raise ValueError(NOT_UNICODE)
    return value


# A character that is not whitespace (str.isspace), spelt out so that every regex engine reading
# the schema agrees with the service on what an empty text is (they differ on \s).
NOT_BLANK = r"[^\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"

# A string of a request: valid Unicode (JSON's \ud800 escape decodes to a lone surrogate, which
# pydantic passes through unless the field has a length limit, and which no answer could echo).
Str = Annotated[str, AfterValidator(_valid_unicode)]


class _Request(BaseModel):
    # Strict: what the schema calls a boolean is one (not 0 or "yes"), and so on.
    model_config = ConfigDict(extra="forbid", strict=True)


# Requests ---------------------------------------------------------------------------------------

class Context(_Request):
    """Where the comment appeared. Accepted for clients that send it; the current models score
    the comment's own text, so context does not change the scores."""

    article_title: Str | None = Field(None, max_length=2000)
    parent_text: Str | None = Field(None, max_length=20480)


class ScoreRequest(_Request):
    # Empty or too long: checked by the route, with its own messages; the schema says so.
    text: Str = Field(description="the comment (at most the service's text limit, 20,000 characters by "
                      "default)", json_schema_extra={"minLength": 1, "pattern": NOT_BLANK})
    context: Context | None = None
    labels: list[Str] | None = Field(
        None, max_length=256, description="labels to return (default: all of the model's); "
        "see GET /v1/labels", json_schema_extra={"minItems": 1})
    community: Str | None = Field(None, max_length=200, description="a community of the policy file, whose thresholds decide "
                           "(default: the file's defaults)")


class BatchItem(_Request):
    id: Str = Field(max_length=256, description="yours; echoed in the result")
    # Not checked here: an item whose text cannot be scored gets an error record of its own.
    text: str
    context: Context | None = None


class BatchRequest(_Request):
    items: list[BatchItem] = Field(min_length=1, max_length=MAX_BATCH_ITEMS)
    labels: list[Str] | None = Field(None, max_length=256, json_schema_extra={"minItems": 1})
    community: Str | None = Field(None, max_length=200)


# Responses --------------------------------------------------------------------------------------

class Span(BaseModel):
    """Characters [start, end) of the text that carry the finding for ``label``."""

    start: int
    end: int
    label: str
    score: float


class ModelRef(BaseModel):
    name: str
    version: str


class ScoreFields(BaseModel):
    scores: dict[str, float] = Field(description="calibrated probability per label")
    flags: list[str] = Field(description="labels at or above their threshold")
    decision: Decision
    spans: list[Span]


class ScoreResponse(ScoreFields):
    model: ModelRef


class ItemError(BaseModel):
    code: int = Field(description="the HTTP status this item alone would have had")
    message: str


class ErrorFields(BaseModel):
    error: ItemError


class ItemId(BaseModel):
    id: str


# Bases are listed last-first so that the id (or the comment) comes first in the JSON.
class ScoredItem(ScoreFields, ItemId):
    pass


class FailedItem(ErrorFields, ItemId):
    pass


class BatchResponse(BaseModel):
    results: list[ScoredItem | FailedItem] = Field(description="one per item, in input order")
    model: ModelRef


class ThreadRef(BaseModel):
    source: str
    title: str | None


class RecordFields(BaseModel):
    """A comment as ``moderation score`` writes it (moderation.batch.make_record)."""

    thread: ThreadRef
    kind: Literal["comment", "article"]
    id: str
    author: str | None
    posted_at: str | None
    parent_id: str | None
    status: str
    text: str


class ScoredComment(ScoreFields, RecordFields):
    pass


class FailedComment(ErrorFields, RecordFields):
    pass


class BlockOut(BaseModel):
    kind: str
    text: str


class ArticleOut(BaseModel):
    title: str | None
    url: str | None
    author: str | None
    published_at: str | None
    blocks: list[BlockOut]
    author_bio: str | None


class PingbackOut(BaseModel):
    title: str | None
    site: str | None
    url: str | None
    posted_at: str | None
    excerpt: str | None


class ThreadOut(BaseModel):
    source: str
    format: str
    article: ArticleOut | None
    comments: list[ScoredComment | FailedComment]
    pingbacks: list[PingbackOut]
    warnings: list[str]


class ThreadsResponse(BaseModel):
    threads: list[ThreadOut]
    comments: int = Field(description="comments in the upload")
    scored: int
    failed: int = Field(description="comments answered with an error record (e.g. empty text)")
    model: ModelRef


class LabelOut(BaseModel):
    name: str
    group: str
    headline: bool = Field(description="the group's summary label (named like the group)")
    description: str
    threshold: float = Field(description="the model's review threshold (tuned for a comment stream on validation)")
    review: float = Field(description="score at or above which the label is flagged (policy)")
    reject: float | None = Field(description="score at or above which the comment is rejected (policy)")
    spans: bool = Field(description="whether the model points at the words for this label")


class LabelsResponse(BaseModel):
    labels: list[LabelOut]
    policy: str = Field(description="the policy whose review/reject thresholds are shown")
    communities: list[str] = Field(description="communities with policies of their own")
    model: ModelRef


class ModelOut(BaseModel):
    name: str
    version: str
    base_model: str
    finetune: str
    labels: list[str]
    max_length: int
    stride: int
    backend: str = Field(description="where the model runs: onnx-int8, onnx-fp32 or torch")
    loaded: bool


class ModelsResponse(BaseModel):
    models: list[ModelOut]


class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    status: Literal["ready"]
    model: ModelRef
    probe_ms: float = Field(description="the probe's time")
    probe_age_s: float = Field(description="how long ago the probe ran (probes are shared for a few seconds)")
