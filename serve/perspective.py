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

``comments:suggestscore`` maps the other way: a suggested attribute score is a verdict on its
label, stored as that probability (0 and 1, as Perspective asks clients to send for a yes or a
no, are the usual values). An attribute scored from several labels (SEVERE_TOXICITY) is a
merged category, read as ``moderation.labelled`` reads one: 0 makes each of its labels 0, more
says one of them applies but not which, so they stay unknown and their group's headline
(``hostility``) takes the value. Where attributes overlap, the more direct one decides: a
label's own name (HOSTILITY) over Perspective's (TOXICITY) over a merged one. Spans scored 0.5
or more mark a label's evidence; they need an attribute of one label.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from moderation.feedback import Verdict
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
    supported = {attr: tuple(label for label in labels if label in names)
                 for attr, labels in ATTRIBUTES.items()}
    supported = {attr: labels for attr, labels in supported.items() if labels}
    for name in names:
        supported.setdefault(name.upper(), (name,))
    return supported


class SuggestedScore(_Wire):
    value: float = Field(ge=0, le=1, description="for a yes or a no, 1 or 0")
    type: Str | None = Field(None, json_schema_extra={"enum": [SCORE_TYPE, None]})


class SuggestedSpan(_Wire):
    begin: int = Field(ge=0, description="first character (code points)")
    end: int = Field(ge=1, description="one past the last character")
    score: SuggestedScore


class SuggestedAttribute(_Wire):
    summary_score: SuggestedScore
    span_scores: list[SuggestedSpan] | None = Field(None, max_length=256)


class SuggestRequest(_Wire):
    comment: TextEntry
    attribute_scores: dict[Str, SuggestedAttribute] = Field(
        max_length=64, json_schema_extra={"minProperties": 1})
    context: Context | None = Field(None, description="accepted; not stored")
    languages: list[Str] | None = Field(None, max_length=16)
    community_id: Str | None = Field(None, max_length=256, description="stored as the "
                                     "verdict's community")
    client_token: Str | None = Field(None, max_length=256)
    session_id: Str | None = Field(None, max_length=256, description="accepted; not stored")


class SuggestResponse(_Wire):
    client_token: str | None = None
    requested_languages: list[str] | None = None


def suggestion(request: SuggestRequest, info: ModelInfo, languages: Sequence[str]) -> Verdict:
    """The verdict a suggestion states; PerspectiveError for what Perspective refuses, or what
    the model's labels cannot hold."""
    if not request.attribute_scores:
        raise PerspectiveError("attributeScores must name at least one attribute")
    supported = attributes(info)
    for attr, suggested in request.attribute_scores.items():
        if attr not in supported:
            raise PerspectiveError(_unknown(attr, info, supported))
        types = {suggested.summary_score.type, *(s.score.type for s in suggested.span_scores or ())}
        if not types <= {None, SCORE_TYPE}:
            raise PerspectiveError(f"Attribute {attr} does not support score type "
                                   f"{next(t for t in types if t not in (None, SCORE_TYPE))}; only {SCORE_TYPE}")
    _check_languages(request.languages, languages, next(iter(request.attribute_scores)))
    labels: dict[str, float] = {}
    undecided: list[str] = []
    # Weakest first, so that a more direct verdict on a label overwrites it: an attribute of
    # several labels, then Perspective's name for one label, then the label's own name.
    def directness(item: tuple[str, SuggestedAttribute]) -> int:
        members = supported[item[0]]
        return 0 if len(members) > 1 else 2 if item[0] == members[0].upper() else 1

    for attr, suggested in sorted(request.attribute_scores.items(), key=directness):
        value = round(suggested.summary_score.value, 4)
        members = supported[attr]
        if len(members) == 1:
            labels[members[0]] = value
        elif value == 0:
            labels.update(dict.fromkeys(members, 0.0))
        else:
            # One of the members applies, not which: they stay unknown, and the group's
            # headline follows (as moderation.labelled.infer_labels has it).
            headline = _headline(members, info)
            if headline is None:
                undecided.append(attr)
            else:
                labels[headline] = max(labels.get(headline, 0.0), value)
    if not labels:
        raise PerspectiveError(f"attributeScores decide no label of this model: "
                               f"{', '.join(undecided)} says one of its labels applies but not which")
    spans = _evidence(request, supported, labels)
    order = info.label_names
    return Verdict(text=request.comment.text, labels={k: labels[k] for k in order if k in labels},
                   spans=spans, span_labels=tuple(k for k in order if any(s[2] == k for s in spans)),
                   community=request.community_id)


def _headline(members: Sequence[str], info: ModelInfo) -> str | None:
    """The headline label of the group all ``members`` belong to, if the model has it."""
    groups = {info.label(name).group for name in members}
    if len(groups) != 1:
        return None
    [group] = groups
    return group if group in info.label_names and group not in members else None


def _evidence(request: SuggestRequest, supported: dict[str, tuple[str, ...]],
              labels: dict[str, float]) -> tuple[tuple[int, int, str], ...]:
    spans = []
    length = len(request.comment.text)
    for attr, suggested in request.attribute_scores.items():
        for i, span in enumerate(suggested.span_scores or ()):
            where = f"attributeScores.{attr}.spanScores[{i}]"
            if len(supported[attr]) > 1:
                raise PerspectiveError(f"{where}: {attr} stands for several labels "
                                       f"({', '.join(supported[attr])}); give spans for one of them")
            if not span.begin < span.end <= length:
                raise PerspectiveError(f"{where}: begin {span.begin} and end {span.end} must satisfy "
                                       f"begin < end <= {length} (the text's length in code points)")
            [label] = supported[attr]
            if span.score.value >= 0.5:
                if labels[label] < 0.5:
                    raise PerspectiveError(f"{where}: a span scored {span.score.value:g} marks "
                                           f"evidence, but {attr} is scored {labels[label]:g}")
                spans.append((span.begin, span.end, label))
    return tuple(sorted(spans))


def _unknown(attr: str, info: ModelInfo, supported: dict[str, tuple[str, ...]]) -> str:
    why = (f"model {info.name} lacks the label(s) {', '.join(ATTRIBUTES[attr])}"
           if attr in ATTRIBUTES else "no such attribute")
    return f"Unknown attribute: {attr} ({why}); this service supports: {', '.join(sorted(supported))}"


def _check_languages(requested: Sequence[str] | None, languages: Sequence[str], attr: str) -> None:
    accepted = {primary(lang) for lang in languages}
    unsupported = [lang for lang in requested or () if primary(lang) not in accepted]
    if unsupported:
        raise PerspectiveError(f"Attribute {attr} does not support request languages: "
                               f"{', '.join(unsupported)}")


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
            raise PerspectiveError(_unknown(attr, info, supported))
        if wanted.score_type not in (None, SCORE_TYPE):
            raise PerspectiveError(f"Attribute {attr} does not support score type {wanted.score_type}; "
                                   f"only {SCORE_TYPE}")
    _check_languages(request.languages, languages, next(iter(request.requested_attributes)))
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
