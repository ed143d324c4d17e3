"""Unhealthy Conversations (Globe and Mail reader comments, val split): the only real news
comments with incivility labels.

Labels are soft: each 0/1 column has a ``:confidence`` (the trust-weighted share of about three
annotators who chose that answer), so a comment is hostile with probability ``confidence`` when
the column is 1 and ``1 - confidence`` when it is 0. Disagreement then shows in the target
instead of being rounded away, which is what calibration needs on such subtle attributes.
"""

from __future__ import annotations

from pathlib import Path

from moderation.errors import DataError
from moderation.labelled import Example, LoadReport
from training.recipes.base import DatasetRecipe, Deduper, clean_post, read_table, require

NAME = "unhealthy-conversations"
FILE = "val.csv"
INCIVILITY = ("antagonize", "condescending", "dismissive", "sarcastic")


def load(folder: Path, report: LoadReport | None = None) -> list[Example]:
    report = report if report is not None else LoadReport()
    require(folder, FILE)
    path = folder / FILE
    columns = ("hostile", *INCIVILITY)
    needed = ("comment", *columns, *(f"{c}:confidence" for c in columns))
    dedupe = Deduper(report)
    examples = []
    for number, row in read_table(path, needed, report=report):
        report.rows += 1
        text = clean_post(row["comment"])
        if not text:
            report.skip("empty text")
            continue
        if not dedupe.first(text):
            continue
        where = f"{path}:{number}"
        hostility = _probability(row, "hostile", where)
        incivility = max(_probability(row, c, where) for c in INCIVILITY)
        examples.append(Example(text, {"hostility": hostility, "incivility": incivility}, source=NAME))
    return examples


def _probability(row: dict[str, str], column: str, where: str) -> float:
    value, confidence = row[column].strip(), row[f"{column}:confidence"].strip()
    try:
        positive = float(value) >= 0.5
        share = float(confidence) if confidence else 1.0
    except ValueError:
        raise DataError(f"{where}: column {column!r} or its confidence is not a number") from None
    # The confidence belongs to the chosen answer (the majority), so it is at least one half.
    if not 0.5 <= share <= 1.0:
        raise DataError(f"{where}: {column}:confidence {share} is outside [0.5, 1]")
    return round(share if positive else 1.0 - share, 4)


RECIPE = DatasetRecipe(
    name=NAME,
    licence="CC BY-NC-SA 4.0",
    taught="hostility, incivility; propaganda negatives",
    mapping={
        "hostile": "hostility",
        "antagonize / condescending / dismissive / sarcastic": "incivility (the highest of the four)",
        "healthy, generalisation, generalisation_unfair": "not used",
    },
    load=load,
    calm_negatives=True,
    cap=3500,
    # Its few hostile and uncivil comments are the only reader comments that show how hostility
    # reads on a news site (a jibe at another reader, not a slur in a tweet); among some 50,000
    # tweets and posts, trained on once, they barely move the model.
    repeat=3,
    notes=(
        "Soft labels from the upstream confidence (probability = confidence for 1, "
        "1 - confidence for 0). Healthy comments carry hostility near 0, balancing the "
        "all-toxic toxic-spans posts. Capped with every hostile or uncivil comment kept: the "
        "only incivility source."
    ),
)
