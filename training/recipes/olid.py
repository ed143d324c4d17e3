"""OLID (OffensEval 2019) training tweets, with the three-level offensive-language annotation.

Level A (OFF/NOT) is hostility. Level B says whether an offence is a targeted insult or threat
(TIN) or untargeted profanity (UNT): TIN is insult 1; UNT is insult 0 (OLID's definition of an
untargeted offence is swearing at no one) and profanity 1. NOT means "no offence or profanity",
so it is 0 for insult and profanity. Profanity stays unknown for TIN: a targeted insult may or
may not swear.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from moderation.errors import DataError
from moderation.labelled import Example, LoadReport
from training.recipes.base import DatasetRecipe, LabelledRow, class_examples, read_table, require

NAME = "olid"
FILE = "olid-training-v1.0.tsv"
LABELS: dict[tuple[str, str], dict[str, float]] = {
    ("NOT", "NULL"): {"hostility": 0.0, "insult": 0.0, "profanity": 0.0},
    ("OFF", "TIN"): {"hostility": 1.0, "insult": 1.0},
    ("OFF", "UNT"): {"hostility": 1.0, "insult": 0.0, "profanity": 1.0},
}


def load(folder: Path, report: LoadReport | None = None) -> list[Example]:
    report = report if report is not None else LoadReport()
    require(folder, FILE)
    path = folder / FILE
    # Tweets keep their quote characters as text: OLID's TSV does not quote fields.
    table = read_table(path, ("tweet", "subtask_a", "subtask_b"), report=report, delimiter="\t",
                       quoted=False)

    def rows() -> Iterator[LabelledRow]:
        for number, row in table:
            key = (row["subtask_a"].strip(), row["subtask_b"].strip())
            if key not in LABELS:
                raise DataError(f"{path}:{number}: unexpected subtask_a/subtask_b {key[0]}/{key[1]}")
            yield row["tweet"], LABELS[key]

    return class_examples(rows(), NAME, report)


RECIPE = DatasetRecipe(
    name=NAME,
    licence="research use (OffensEval 2019 terms)",
    taught="hostility, insult, profanity",
    mapping={
        "subtask_a OFF / NOT": "hostility 1 / 0",
        "subtask_b TIN (targeted insult or threat)": "insult 1 (profanity unknown)",
        "subtask_b UNT (untargeted profanity)": "insult 0, profanity 1",
        "NOT": "insult 0, profanity 0",
    },
    load=load,
    cap=5000,
    notes=(
        "TIN also covers threats, so insult is slightly broad here; level C (target) is not "
        "used (GRP includes political groups, not only identities). Capped: all UNT tweets "
        "(the rarest), then TIN and NOT in equal shares."
    ),
)
