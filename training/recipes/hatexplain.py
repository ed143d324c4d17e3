"""HateXplain (train + val divisions): Twitter and Gab posts, lower-cased, punctuation stripped.

``category``: 0 normal, 1 hate speech, 2 offensive, 3 undecided (no majority: skipped).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from moderation.errors import DataError
from moderation.labelled import Example, LoadReport
from training.recipes.base import DatasetRecipe, LabelledRow, class_examples, read_table, require

NAME = "hatexplain"
FILE = "092-HateXplain.csv"
UNDECIDED = "3"
CATEGORIES = {
    "0": {"hostility": 0.0, "identity_attack": 0.0},
    "1": {"hostility": 1.0, "identity_attack": 1.0},
    "2": {"hostility": 1.0, "identity_attack": 0.0},
}


def load(folder: Path, report: LoadReport | None = None) -> list[Example]:
    report = report if report is not None else LoadReport()
    require(folder, FILE)
    path = folder / FILE

    def rows() -> Iterator[LabelledRow]:
        for number, row in read_table(path, ("text", "category"), report=report):
            category = row["category"].strip()
            if category == UNDECIDED:
                yield row["text"], "undecided: annotators split three ways"
            elif category not in CATEGORIES:
                raise DataError(f"{path}:{number}: category {category!r} is not 0-3")
            else:
                yield row["text"], CATEGORIES[category]

    # The posts are already lower-cased with punctuation stripped: nothing to clean but spaces.
    return class_examples(rows(), NAME, report, str.strip)


RECIPE = DatasetRecipe(
    name=NAME,
    licence="MIT (HateXplain repository)",
    taught="hostility, identity_attack; propaganda negatives",
    mapping={
        "0 normal": "hostility 0, identity_attack 0",
        "1 hate speech": "hostility 1, identity_attack 1",
        "2 offensive": "hostility 1, identity_attack 0",
        "3 undecided": "skipped",
    },
    load=load,
    calm_negatives=True,
    cap=4000,
    notes=(
        "Texts are lower-cased without punctuation upstream. The rationales are not in this "
        "copy, so no spans. Capped: hate, offensive and normal in equal shares."
    ),
)
