"""Toxic Spans (SemEval-2021 Task 5; ACL 2022 typed annotations): news comments with the
character spans that make them toxic, and each annotator's typed spans.

Examples are the SemEval texts (``tsd_train.csv`` + ``tsd_trial.csv``) with their ground-truth
spans as ``hostility`` evidence. Where the per-annotator files (``comments.csv``,
``annotations.csv``, ``spans.csv``) hold the same text, their typed spans add insult, threat,
identity_attack and profanity. Only texts in the SemEval files are used, so nothing outside the
published training/trial parts enters training.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from moderation.errors import DataError
from moderation.labelled import Example, LoadReport, Span
from training.recipes.base import (
    DatasetRecipe,
    Deduper,
    char_runs,
    read_table,
    require,
    span_labels_with_evidence,
    visible_spans,
)

NAME = "toxic-spans"
SPAN_FILES = ("tsd_train.csv", "tsd_trial.csv")
TYPED_FILES = ("comments.csv", "annotations.csv", "spans.csv")

TYPES = {
    "Insult": "insult",
    "Threat": "threat",
    "Identity based Attack": "identity_attack",
    "Profane/Obscene": "profanity",
}
# Counts towards hostility only (the SemEval spans), so it maps onto none of the typed labels.
OTHER = "Other Toxicity"

# One annotator's typed spans: (type, start, end); the type is None when blank upstream.
Marks = list[tuple[str | None, int, int]]


def load(folder: Path, report: LoadReport | None = None) -> list[Example]:
    report = report if report is not None else LoadReport()
    require(folder, *SPAN_FILES)
    typed = _typed_annotators(folder, report) if all((folder / f).is_file() for f in TYPED_FILES) else {}
    if not typed:
        report.skip("typed annotations absent: hostility spans only")
    dedupe = Deduper(report)
    examples = []
    for name in SPAN_FILES:
        path = folder / name
        for _, row in read_table(path, ("spans", "text"), report=report):
            report.rows += 1
            text = row["text"]
            if not text.strip():
                report.skip("empty text")
                continue
            if not dedupe.first(text):
                continue
            offsets = _offsets(row["spans"], path)
            if any(not 0 <= o < len(text) for o in offsets):
                report.skip("span beyond the end of the text")
                continue
            examples.append(_example(text, offsets, typed.get(text, []), report))
    return examples


def _example(text: str, offsets: list[int], annotators: list[Marks], report: LoadReport) -> Example:
    spans = visible_spans(text, (Span(s, e, "hostility") for s, e in char_runs(offsets)))
    # Every post was pre-selected as toxic; an empty span list means "no agreed span", which
    # may be a post toxic as a whole: hostility is then unknown, never 0.
    labels: dict[str, float] = {"hostility": 1.0} if spans else {}
    annotated = {"hostility"}
    if annotators:
        typed_labels, typed_spans = _majority_types(text, annotators, report)
        labels.update(typed_labels)
        spans += typed_spans
        annotated |= set(typed_labels)
    return Example(text, labels, tuple(spans), span_labels_with_evidence(labels, spans, annotated), NAME)


def _majority_types(text: str, annotators: list[Marks], report: LoadReport
                    ) -> tuple[dict[str, float], list[Span]]:
    """Types marked by at least half of the annotators who highlighted anything.

    Annotators who highlighted nothing ticked "not toxic" or "toxic as a whole" and said
    nothing about types, so they are left out of the count, as in the SemEval ground truth
    (which this reproduces for about nine in ten posts).
    """
    voters = [marks for marks in annotators if marks]
    if not voters:
        return {}, []
    labels: dict[str, float] = {}
    spans: list[Span] = []
    for upstream, ours in TYPES.items():
        per_char: dict[int, int] = defaultdict(int)
        marked = 0
        for marks in voters:
            chars = {c for kind, start, end in marks if kind == upstream for c in range(start, end)}
            if any(kind == upstream for kind, _, _ in marks):
                marked += 1
            if any(c >= len(text) for c in chars):
                report.skip("typed span beyond the end of the text: clipped")
                chars = {c for c in chars if c < len(text)}
            for c in chars:
                per_char[c] += 1
        labels[ours] = 1.0 if 2 * marked >= len(voters) else 0.0
        agreed = [c for c, n in per_char.items() if 2 * n >= len(voters)]
        if labels[ours]:
            spans += visible_spans(text, (Span(s, e, ours) for s, e in char_runs(agreed)))
    return labels, spans


def _typed_annotators(folder: Path, report: LoadReport) -> dict[str, list[Marks]]:
    """Text -> each annotator's typed spans (annotators of duplicate comments pooled)."""
    text_of = {row["comment_id"]: row["comment_text"]
               for _, row in read_table(folder / "comments.csv", ("comment_id", "comment_text"),
                                        report=report)}
    comment_of = {row["annotation"]: row["comment_id"]
                  for _, row in read_table(folder / "annotations.csv", ("annotation", "comment_id"),
                                           report=report)}
    marks: dict[str, Marks] = {annotation: [] for annotation in comment_of}
    path = folder / "spans.csv"
    for _, row in read_table(path, ("annotation", "type", "start", "end"), report=report):
        if row["annotation"] not in marks:
            report.skip("typed span of an unknown annotation")
            continue
        try:
            start, end = int(row["start"]), int(row["end"])
        except ValueError:
            raise DataError(f"{path}: annotation {row['annotation']}: start/end are not integers") from None
        kind = _type_name(row["type"])
        if kind is None:
            report.skip("typed span with a blank type: untyped")
        marks[row["annotation"]].append((kind, start, end))
    by_text: dict[str, list[Marks]] = defaultdict(list)
    for annotation, comment in comment_of.items():
        if comment in text_of:
            by_text[text_of[comment]].append(marks[annotation])
    return by_text


def _type_name(raw: str) -> str | None:
    """The upstream type, also for the few truncated upstream values (a unique prefix)."""
    if not raw.strip():
        return None
    matches = [name for name in (*TYPES, OTHER) if name.startswith(raw)]
    return matches[0] if len(matches) == 1 else None


def _offsets(raw: str, path: Path) -> list[int]:
    try:
        offsets = json.loads(raw)
    except json.JSONDecodeError:
        raise DataError(f"{path}: a spans value is not a JSON list of offsets") from None
    if not isinstance(offsets, list) or not all(isinstance(o, int) for o in offsets):
        raise DataError(f"{path}: a spans value is not a JSON list of integer offsets")
    return offsets


RECIPE = DatasetRecipe(
    name=NAME,
    licence="CC0 1.0",
    taught="hostility (with spans); insult, threat, identity_attack, profanity (with spans)",
    mapping={
        "toxic span (SemEval ground truth)": "hostility (span; post hostility 1)",
        "no span": "hostility unknown (post may be toxic as a whole); no hostility token positives",
        "Insult": "insult",
        "Threat": "threat",
        "Identity based Attack": "identity_attack",
        "Profane/Obscene": "profanity",
        "Other Toxicity": "hostility only",
    },
    load=load,
    cap=7000,
    notes=(
        "All posts were pre-selected as toxic; non-toxic comments come from the other sets. "
        "A type is positive when at least half of the annotators who highlighted spans marked "
        "it, and 0 otherwise (they did annotate types); its spans are the characters at least "
        "half of them marked with it. Capped: the only span source for hostility and its types, and real "
        "news comments."
    ),
)
