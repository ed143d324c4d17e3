"""Compatibility with Perspective's ``comments:analyze``: its request and response shapes, and
how its attributes map onto the model's labels.

| attribute         | score                                                         |
|-------------------|---------------------------------------------------------------|
| TOXICITY          | ``hostility``                                                 |
| SEVERE_TOXICITY   | the higher of ``threat`` and ``identity_attack`` (those the   |
|                   | model has): the forms of hostility Perspective calls severe   |
| IDENTITY_ATTACK   | ``identity_attack``                                           |
| INSULT            | ``insult``                                                    |
| PROFANITY         | ``profanity``                                                 |
| THREAT            | ``threat``                                                    |

Every other label of the model is also an attribute under its upper-case name
(``NAME_CALLING`` is ``name_calling``). An attribute whose labels the model lacks is
unsupported, and asking for it gets Perspective's 400.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from moderation.modeldir import ModelInfo
from moderation.scorer import Scores
from serve.schemas import NOT_BLANK, Str

ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "TOXICITY": ("hostility",),
    "SEVERE_TOXICITY": ("threat", "identity_attack"),
    "IDENTITY_ATTACK": ("identity_attack",),
    "INSULT": ("insult",),
    "PROFANITY": ("profanity",),
    "THREAT": ("threat",),
}
SCORE_TYPE = "PROBABILITY"


class PerspectiveError(Exception):
    """A request Perspective would refuse with 400 INVALID_ARGUMENT; the message is its."""


class _Wire(BaseModel):
    # Strict: what the schema calls a boolean is one (not 0 or "yes"), and so on.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", strict=True)


class TextEntry(_Wire):
    # Checked by the route (empty, over the limit), with Perspective's 400; the schema says so.
    text: Str = Field(json_schema_extra={"minLength": 1, "pattern": NOT_BLANK})
    type: Literal["PLAIN_TEXT"] = "PLAIN_TEXT"


class ContextEntry(_Wire):
    text: Str | None = None
    type: Literal["PLAIN_TEXT"] | None = None


class Context(_Wire):
    entries: list[ContextEntry] = Field(default_factory=list, max_length=100)


class AttributeRequest(_Wire):
    score_type: Str | None = Field(None, json_schema_extra={"enum": [SCORE_TYPE, None]})
    score_threshold: float | None = Field(None, ge=0, le=1)


class AnalyzeRequest(_Wire):
    comment: TextEntry
    requested_attributes: dict[Str, AttributeRequest] = Field(max_length=64, json_schema_extra={"minProperties": 1})
    context: Context | None = Field(None, description="accepted; the score does not use it")
    languages: list[Str] | None = Field(None, max_length=16)
    span_annotations: bool = False
    do_not_store: bool = Field(False, description="accepted; this service never stores comments")
    client_token: Str | None = Field(None, max_length=256)
    session_id: Str | None = Field(None, max_length=256)
    community_id: Str | None = Field(None, max_length=256)


class Score(_Wire):
    value: float
    type: str = SCORE_TYPE


class SpanScore(_Wire):
    begin: int
    end: int
    score: Score


class AttributeScores(_Wire):
    summary_score: Score
    span_scores: list[SpanScore] | None = None


class AnalyzeResponse(_Wire):
    attribute_scores: dict[str, AttributeScores]
    languages: list[str]
    client_token: str | None = None


def attributes(info: ModelInfo) -> dict[str, tuple[str, ...]]:
    """Each attribute this model supports and the labels it is scored from."""
    names = info.label_names
    supported = {attr: tuple(l for l in labels if l in names) for attr, labels in ATTRIBUTES.items()}
    supported = {attr: labels for attr, labels in supported.items() if labels}
    for name in names:
        supported.setdefault(name.upper(), (name,))
    return supported


def primary(language: str) -> str:
    """A language tag's primary subtag, lower-cased (``en-GB``: ``en``)."""
    return language.strip().replace("_", "-").split("-")[0].lower()


def check(request: AnalyzeRequest, info: ModelInfo, languages: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The requested attributes and their labels; PerspectiveError for what Perspective refuses."""
    if not request.requested_attributes:
        raise PerspectiveError("requestedAttributes must name at least one attribute")
    supported = attributes(info)
    for attr, wanted in request.requested_attributes.items():
        if attr not in supported:
            why = (f"model {info.name} lacks the label(s) {', '.join(ATTRIBUTES[attr])}"
                   if attr in ATTRIBUTES else "no such attribute")
            raise PerspectiveError(f"Unknown attribute: {attr} ({why}); this service supports: "
                                   f"{', '.join(sorted(supported))}")
        if wanted.score_type not in (None, SCORE_TYPE):
            raise PerspectiveError(f"Attribute {attr} does not support score type {wanted.score_type}; "
                                   f"only {SCORE_TYPE}")
    accepted = {primary(lang) for lang in languages}
    unsupported = [lang for lang in request.languages or () if primary(lang) not in accepted]
    if unsupported:
        first = next(iter(request.requested_attributes))
        raise PerspectiveError(f"Attribute {first} does not support request languages: "
                               f"{', '.join(unsupported)}")
    return {attr: supported[attr] for attr in request.requested_attributes}


def answer(request: AnalyzeRequest, requested: dict[str, tuple[str, ...]], scores: Scores,
           info: ModelInfo, languages: Sequence[str]) -> AnalyzeResponse:
    """Perspective's response for ``scores`` of the comment.

    Span scores, when asked for, are the model's evidence spans (the words that carry the
    finding, each with its token score) when the attribute's labels have them; otherwise one span
    covering the whole text with the summary score, as Perspective gives for a one-sentence text.
    Offsets count Unicode code points.
    Perspective leaves out any attribute, or span, scoring below a requested ``scoreThreshold``.
    """
    out: dict[str, AttributeScores] = {}
    text_length = len(request.comment.text)
    for attr, labels in requested.items():
        threshold = request.requested_attributes[attr].score_threshold or 0.0
        value = max(scores.scores[label] for label in labels)
        if value < threshold:
            continue
        entry = AttributeScores(summary_score=Score(value=value))
        if request.span_annotations:
            if any(info.label(label).spans for label in labels):
                spans = [SpanScore(begin=s.start, end=s.end, score=Score(value=round(s.score, 6)))
                         for s in scores.spans if s.label in labels]
            else:
                spans = [SpanScore(begin=0, end=text_length, score=Score(value=value))]
            entry.span_scores = sorted((s for s in spans if s.score.value >= threshold),
                                       key=lambda s: (s.begin, s.end))
        out[attr] = entry
    return AnalyzeResponse(
        attribute_scores=out,
        languages=list(request.languages or [languages[0]]),
        client_token=request.client_token,
    )
