"""CoCoLoFa (dev split): news-article comment threads written by crowd workers, each comment
with one assigned logical fallacy or none.

Each worker wrote a comment with one given fallacy (or none), so for every comment the four
fallacies that have a label of ours are known: 1 for its own, 0 for the others. The other four
fallacies make propaganda 1 and nothing else; "none" is propaganda 0.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from moderation.errors import DataError
from moderation.labelled import Example, LoadReport
from training.recipes.base import DatasetRecipe, Deduper, clean_post, require

NAME = "cocolofa"
FILE = "dev.json"
MAPPED = {
    "appeal to majority": "bandwagon",
    "appeal to worse problems": "whataboutism",
    "false dilemma": "black_and_white",
    "appeal to authority": "appeal_to_authority",
}
UNMAPPED = ("appeal to nature", "appeal to tradition", "hasty generalization", "slippery slope")
NONE = "none"


def load(folder: Path, report: LoadReport | None = None) -> list[Example]:
    report = report if report is not None else LoadReport()
    require(folder, FILE)
    path = folder / FILE
    dedupe = Deduper(report)
    examples = []
    for comment in _comments(path):
        report.rows += 1
        fallacy = str(comment.get("fallacy", "")).strip().lower()
        if fallacy not in MAPPED and fallacy not in UNMAPPED and fallacy != NONE:
            raise DataError(f"{path}: comment {comment.get('id')!r} has unknown fallacy {fallacy!r}")
        text = clean_post(str(comment.get("comment") or ""))
        if not text:
            report.skip("empty text")
            continue
        if not dedupe.first(text):
            continue
        labels = {ours: float(fallacy == upstream) for upstream, ours in MAPPED.items()}
        labels["propaganda"] = float(fallacy != NONE)
        examples.append(Example(text, labels, source=NAME))
    return examples


def _comments(path: Path) -> list[dict[str, Any]]:
    try:
        articles = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not a readable JSON list of articles: {exc}") from None
    if not isinstance(articles, list):
        raise DataError(f"{path}: expected a JSON list of articles")
    comments = []
    for article in articles:
        items = article.get("comments") if isinstance(article, dict) else None
        if not isinstance(items, list):
            raise DataError(f"{path}: article {article.get('id') if isinstance(article, dict) else '?'}"
                            " has no comments list")
        comments += [c for c in items if isinstance(c, dict)]
    return comments


RECIPE = DatasetRecipe(
    name=NAME,
    licence="not stated in the README of the copy used (CoCoLoFa, EMNLP 2024)",
    taught="propaganda, bandwagon, whataboutism, black_and_white, appeal_to_authority",
    mapping={
        **MAPPED,
        **dict.fromkeys(UNMAPPED, "propaganda 1 (the four mapped techniques 0)"),
        NONE: "propaganda 0 and the four mapped techniques 0",
    },
    load=load,
    cap=1500,
    notes=(
        "Written to order by crowd workers with LLM help, about news articles: real reader-"
        "comment style with known fallacies and fallacy-free replies. 'Appeal to worse "
        "problems' is read as whataboutism. Small: every training comment is kept."
    ),
)
