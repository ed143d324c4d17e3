"""Propaganda Techniques Corpus (SemEval-2020 Task 11): news articles with technique spans.

Articles come one sentence per line (title first). Each non-empty line is an example; the
technique spans (``task2-TC.labels``: article id, technique, start, end) are clipped to the
lines they overlap. Every line is annotated for every technique, so all single techniques are
known (0/1) and their spans are evidence. Two upstream classes merge rarer techniques: where
one occurs, its members are unknown (which one applies is not said) while propaganda is 1;
where it does not, its members are 0.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from moderation.errors import DataError
from moderation.labelled import Example, LoadReport, Span
from training.recipes.base import (
    DatasetRecipe,
    Deduper,
    read_lines,
    require,
    visible_spans,
)

NAME = "ptc-semeval2020"
LABELS_FILE = "task2-TC.labels"
ARTICLES = "articles"

TECHNIQUES = {
    "Appeal_to_Authority": "appeal_to_authority",
    "Appeal_to_fear-prejudice": "appeal_to_fear",
    "Black-and-White_Fallacy": "black_and_white",
    "Causal_Oversimplification": "causal_oversimplification",
    "Doubt": "doubt",
    "Exaggeration,Minimisation": "exaggeration",
    "Flag-Waving": "flag_waving",
    "Loaded_Language": "loaded_language",
    "Name_Calling,Labeling": "name_calling",
    "Repetition": "repetition",
    "Slogans": "slogans",
    "Thought-terminating_Cliches": "thought_terminating_cliche",
}
MERGED = {
    "Whataboutism,Straw_Men,Red_Herring": ("whataboutism", "straw_man", "red_herring"),
    "Bandwagon,Reductio_ad_hitlerum": ("bandwagon", "reductio_ad_hitlerum"),
}
# Cues that say which member of a merged class a span is: a likening to Nazis is reductio ad
# hitlerum, a "what about ..." is whataboutism. A span with no cue leaves its members unknown.
CUES = {
    "reductio_ad_hitlerum": re.compile(
        r"\b(hitler\w*|nazi\w*|goebbels|fascis\w*|third reich|gestapo|ss officers?|mussolini|"
        r"stalin\w*|holocaust)\b", re.I),
    "whataboutism": re.compile(r"\b(what|how) about\b", re.I),
}
# Lines with no letter or digit (rules, ellipses) are layout, not sentences.
_WORDY = re.compile(r"\w")

Annotation = tuple[str, int, int]


def load(folder: Path, report: LoadReport | None = None) -> list[Example]:
    report = report if report is not None else LoadReport()
    require(folder, LABELS_FILE)
    articles = folder / ARTICLES
    if not articles.is_dir():
        raise DataError(f"{articles}: missing (the article texts)")
    annotations = _annotations(folder / LABELS_FILE)
    dedupe = Deduper(report)
    examples = []
    for path in sorted(articles.glob("article*.txt")):
        article_id = path.stem.removeprefix("article")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: cannot read: {exc}") from None
        for line, start in _lines(text):
            report.rows += 1
            if not _WORDY.search(line):
                report.skip("line without words")
                continue
            if dedupe.first(line):
                examples.append(_example(line, start, annotations.get(article_id, [])))
        annotations.pop(article_id, None)
    if annotations:
        report.skip(f"labelled article without text ({len(annotations)} articles)")
    return examples


def _example(line: str, offset: int, annotations: list[Annotation]) -> Example:
    end = offset + len(line)
    spans: list[Span] = []
    present: set[str] = set()
    cued: set[str] = set()
    for technique, start, stop in annotations:
        # A merged class is evidence of propaganda, and of a member only where a cue says which.
        label = TECHNIQUES.get(technique, "propaganda")
        s, e = max(start, offset) - offset, min(stop, end) - offset
        for member in MERGED.get(technique, ()):
            if s < e and member in CUES and CUES[member].search(line[s:e]):
                label = member
                cued.add(member)
        clipped = Span(s, e, label)
        if clipped.start < clipped.end and (visible := visible_spans(line, [clipped])):
            present.add(technique)
            spans += visible
    labels = {ours: float(upstream in present) for upstream, ours in TECHNIQUES.items()}
    annotated = {*TECHNIQUES.values(), "propaganda"}
    for upstream, members in MERGED.items():
        if upstream not in present:
            labels.update(dict.fromkeys(members, 0.0))
            annotated.update(members)
    labels["propaganda"] = float(bool(present))
    labels.update(dict.fromkeys(cued, 1.0))
    return Example(line, labels, tuple(spans), frozenset(annotated), NAME)


def _lines(text: str) -> list[tuple[str, int]]:
    """Non-empty lines with their offsets in the article (the annotations' frame)."""
    out, offset = [], 0
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped:
            out.append((stripped, offset + line.index(stripped)))
        offset += len(line) + 1
    return out


def _annotations(path: Path) -> dict[str, list[Annotation]]:
    by_article: dict[str, list[Annotation]] = defaultdict(list)
    for number, row in enumerate(read_lines(path), 1):
        if not row.strip():
            continue
        fields = row.split("\t")
        if len(fields) != 4:
            raise DataError(f"{path}:{number}: expected article id, technique, start, end (tab-separated)")
        article_id, technique, start, end = fields
        if technique not in TECHNIQUES and technique not in MERGED:
            raise DataError(f"{path}:{number}: unknown technique {technique!r}")
        try:
            span = (technique, int(start), int(end))
        except ValueError:
            raise DataError(f"{path}:{number}: start and end must be integers") from None
        by_article[article_id].append(span)
    return by_article


RECIPE = DatasetRecipe(
    name=NAME,
    licence="research use (PTC / SemEval-2020 Task 11 terms)",
    taught="propaganda and 12 techniques, with spans; whataboutism, straw_man, red_herring, "
           "bandwagon, reductio_ad_hitlerum negatives",
    mapping={
        **{upstream: ours for upstream, ours in TECHNIQUES.items()},
        **{upstream: f"{', '.join(members)} unknown where present (0 where absent); propaganda 1"
           for upstream, members in MERGED.items()},
        "merged span likening to Nazis / Hitler / fascists": "reductio_ad_hitlerum 1",
        "merged span starting 'what about' / 'how about'": "whataboutism 1",
        "any technique on the line": "propaganda 1 (else 0)",
    },
    load=load,
    # Every line with a technique (about 3,400), then 5,600 without. All 11,474 lines rank PTC's
    # own sentences better still but cost hostility on reader comments; 9,000 alone gains less
    # than one run's draw moves, so the default model is the student of two draws (README,
    # "Labelled data and training").
    cap=9000,
    notes=(
        "One example per article line (the upstream sentence split), spans clipped to the line; "
        "lines without any letter or digit are skipped, short lines kept (a slogan is short). "
        "Repetition is judged against the whole article, so a single line is weak evidence "
        "for it. The 11 'Obfuscation' spans were removed upstream, so those lines read as "
        "negatives. Capped: every line with a technique, rarest techniques first, then "
        "lines without."
    ),
)
