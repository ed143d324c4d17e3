"""The service's request and response bodies (pydantic lives here, at the edge, only).

Requests forbid unknown fields, so a misspelt field is an error instead of being ignored. Text
limits (empty, too long) are checked by the routes, not here: a batch answers a bad item with an
error record and still scores the good ones.

The result of a scored text (``ScoreFields``), an item's error and the comment records of
``POST /v1/threads`` are generated from :class:`moderation.record.ScoredRecord`, the one
definition of a scored comment, by :func:`edge_model`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model

from moderation.record import COMMENT_FIELDS, RESULT_FIELDS, RecordError, RecordThread, ScoredRecord
from moderation.record import Span as RecordSpan
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
    community: Str | None = Field(None, max_length=200, description="a community of the policy "
                                  "file, whose thresholds decide (default: the file's defaults)")


class BatchItem(_Request):
    id: Str = Field(max_length=256, description="yours; echoed in the result")
    # Not checked here: an item whose text cannot be scored gets an error record of its own.
    text: str
    context: Context | None = None


class BatchRequest(_Request):
    items: list[BatchItem] = Field(min_length=1, max_length=MAX_BATCH_ITEMS)
    labels: list[Str] | None = Field(None, max_length=256, json_schema_extra={"minItems": 1})
    community: Str | None = Field(None, max_length=200)


# Responses generated from the record -----------------------------------------------------------

# Component names of the schema, kept as clients know them.
_EDGE_NAMES: dict[type, str] = {RecordThread: "ThreadRef", RecordError: "ItemError", RecordSpan: "Span"}
_edge_models: dict[type, type[BaseModel]] = {}


def edge_model(cls: type, name: str | None = None, only: Sequence[str] | None = None, *,
               state: bool = False, doc: str | None = None) -> type[BaseModel]:
    """A pydantic model of the dataclass ``cls`` (of its fields ``only``, in the dataclass's
    order): the same names and types, a nested dataclass as a model of its own, a tuple as a
    list, a mapping as a dict, descriptions from the fields' metadata. Every field is required,
    as the JSON form always writes it, and may be null where the dataclass allows None, except
    with ``state`` (fields that one state of the record always has, such as its scores)."""
    if name is None and only is None and cls in _edge_models:
        return _edge_models[cls]
    hints = typing.get_type_hints(cls)
    fields: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        if only is not None and field.name not in only:
            continue
        kind = _without_none(hints[field.name]) if state else hints[field.name]
        fields[field.name] = (_edge_type(kind), Field(description=field.metadata.get("description")))
    model: type[BaseModel] = create_model(
        name or _EDGE_NAMES.get(cls, cls.__name__), __doc__=doc or cls.__doc__,
        __module__=__name__, **fields)
    if name is None and only is None:
        _edge_models[cls] = model
    return model


def _edge_type(kind: Any) -> Any:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return edge_model(kind)
    if origin in (types.UnionType, typing.Union):
        return typing.Union[tuple(_edge_type(arg) for arg in args)]  # noqa: UP007 - built from a tuple
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        # Types built at run time for pydantic, which a type checker cannot follow.
        return list[_edge_type(args[0])]  # type: ignore[misc]
    if origin is Mapping:
        return dict[_edge_type(args[0]), _edge_type(args[1])]  # type: ignore[misc]
    return kind


def _without_none(kind: Any) -> Any:
    args = [arg for arg in typing.get_args(kind) if arg is not type(None)]
    if typing.get_origin(kind) in (types.UnionType, typing.Union) and len(args) == 1:
        return args[0]
    return kind


Span = edge_model(RecordSpan)
ItemError = edge_model(RecordError)
ThreadRef = edge_model(RecordThread)
ScoreFields = edge_model(ScoredRecord, "ScoreFields", RESULT_FIELDS, state=True,
                         doc="What the model and the policy say about one text.")
ErrorFields = edge_model(ScoredRecord, "ErrorFields", ("error",), state=True,
                         doc="Why a text was not scored.")
RecordFields = edge_model(ScoredRecord, "RecordFields", COMMENT_FIELDS,
                          doc="A comment as ``moderation score`` writes it.")


# Responses --------------------------------------------------------------------------------------

class ModelRef(BaseModel):
    name: str
    version: str


# The *Fields bases are models built at run time by edge_model: to the type checker they are
# variables, hence the ignores on the classes below.
class ScoreResponse(ScoreFields):  # type: ignore[misc,valid-type]
    model: ModelRef


class ItemId(BaseModel):
    id: str


# Bases are listed last-first so that the id (or the comment) comes first in the JSON.
class ScoredItem(ScoreFields, ItemId):  # type: ignore[misc,valid-type]
    pass


class FailedItem(ErrorFields, ItemId):  # type: ignore[misc,valid-type]
    pass


class BatchResponse(BaseModel):
    results: list[ScoredItem | FailedItem] = Field(description="one per item, in input order")
    model: ModelRef


class ScoredComment(ScoreFields, RecordFields):  # type: ignore[misc,valid-type]
    pass


class FailedComment(ErrorFields, RecordFields):  # type: ignore[misc,valid-type]
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
