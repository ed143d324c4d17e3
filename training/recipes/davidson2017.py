"""Davidson et al. 2017: tweets labelled hate speech, offensive language, or neither."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from moderation.errors import DataError
from moderation.labelled import Example, LoadReport
from training.recipes.base import DatasetRecipe, LabelledRow, class_examples, read_table, require

NAME = "davidson2017"
FILE = "labeled_data.csv"
# Offensive tweets are mostly profane, but profanity was not annotated: it stays unknown.
CLASSES = {
    "0": {"hostility": 1.0, "identity_attack": 1.0},
    "1": {"hostility": 1.0, "identity_attack": 0.0},
    "2": {"hostility": 0.0, "identity_attack": 0.0},
}


def load(folder: Path, report: LoadReport | None = None) -> list[Example]:
    report = report if report is not None else LoadReport()
    require(folder, FILE)
    path = folder / FILE

    def rows() -> Iterator[LabelledRow]:
        for number, row in read_table(path, ("tweet", "class"), report=report):
            labels = CLASSES.get(row["class"].strip())
            if labels is None:
                raise DataError(f"{path}:{number}: class {row['class']!r} is not 0, 1 or 2")
            yield row["tweet"], labels

    return class_examples(rows(), NAME, report)


RECIPE = DatasetRecipe(
    name=NAME,
    licence="MIT",
    taught="hostility, identity_attack; propaganda negatives",
    mapping={
        "0 hate speech": "hostility 1, identity_attack 1",
        "1 offensive language": "hostility 1, identity_attack 0 (profanity unknown)",
        "2 neither": "hostility 0, identity_attack 0",
    },
    load=load,
    calm_negatives=True,
    cap=3000,
    notes=(
        "Majority class; HTML entities decoded. Teaches the line between hate and mere "
        "offence. Capped: every hate tweet (the rarest), then offensive and neither in "
        "equal shares."
    ),
)
