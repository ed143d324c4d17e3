"""Logical Fallacy Detection (Jin et al. 2022): textbook (edu) and climate-article sentences,
each with one fallacy type; train + dev files.

The corpus has no fallacy-free sentences and names one fallacy per sentence without ruling out
others, so it gives positives only: the named technique where it has a label of ours, and
propaganda. Nothing is set to 0.
"""

from __future__ import annotations

from pathlib import Path

from moderation.errors import DataError
from moderation.labelled import Example, LoadReport
from training.recipes.base import DatasetRecipe, read_table, require

NAME = "logic-fallacy"
# file -> the column holding its fallacy name
FILES = {
    "edu_train.csv": "updated_label",
    "edu_dev.csv": "updated_label",
    "climate_train.csv": "logical_fallacies",
    "climate_dev.csv": "logical_fallacies",
}
MAPPED = {
    "ad populum": "bandwagon",
    "false dilemma": "black_and_white",
    "fallacy of extension": "straw_man",
    "fallacy of relevance": "red_herring",
    "false causality": "causal_oversimplification",
}
# Fallacies with no technique of ours: an ad hominem need not be name calling, an appeal to
# emotion need not be loaded language, and "fallacy of credibility" mixes authority with
# tradition and nature.
PROPAGANDA_ONLY = ("ad hominem", "appeal to emotion", "circular reasoning", "equivocation",
                   "fallacy of credibility", "fallacy of logic", "faulty generalization",
                   "intentional")


def load(folder: Path, report: LoadReport | None = None) -> list[Example]:
    report = report if report is not None else LoadReport()
    require(folder, *FILES)
    positives: dict[str, set[str]] = {}
    for name, column in FILES.items():
        path = folder / name
        for number, row in read_table(path, ("source_article", column), report=report):
            report.rows += 1
            fallacy = row[column].strip().lower()
            if fallacy not in MAPPED and fallacy not in PROPAGANDA_ONLY:
                raise DataError(f"{path}:{number}: unknown fallacy {fallacy!r}")
            text = row["source_article"].strip()
            if not text:
                report.skip("empty text")
                continue
            if text in positives:
                report.skip("duplicate text (its fallacies merged)")
            labels = positives.setdefault(text, {"propaganda"})
            if fallacy in MAPPED:
                labels.add(MAPPED[fallacy])
    return [Example(text, dict.fromkeys(sorted(labels), 1.0), source=NAME)
            for text, labels in positives.items()]


RECIPE = DatasetRecipe(
    name=NAME,
    licence="not stated in the README of the copy used (causalNLP/logical-fallacy)",
    taught="positives only: propaganda, bandwagon, black_and_white, straw_man, red_herring, "
           "causal_oversimplification",
    mapping={**MAPPED, **dict.fromkeys(PROPAGANDA_ONLY, "propaganda only")},
    load=load,
    cap=1500,
    notes=(
        "Positives only: no label is ever set to 0. A few edu rows are definitions of a "
        "fallacy rather than instances. Capped: every sentence with a mapped technique "
        "(rarest first), the rest propaganda-only sentences."
    ),
)
