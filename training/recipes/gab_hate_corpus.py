"""Gab Hate Corpus (Kennedy et al.), train split: Gab posts coded for hate-based rhetoric.

``hd`` (assault on human dignity, aimed at people for their group identity), ``cv`` (call for
violence) and ``vo`` (vulgarity/offensive language) map onto identity_attack, threat and
profanity. A post with none of the three is a hostility negative, as the data README suggests:
it is the corpus' "not hateful" class and balances the all-toxic toxic-spans posts.
"""

from __future__ import annotations

from pathlib import Path

from moderation.errors import DataError
from moderation.labelled import Example, LoadReport
from training.recipes.base import DatasetRecipe, Deduper, clean_post, read_table, require

NAME = "gab-hate-corpus"
FILE = "ghc_train.tsv"
COLUMNS = {"hd": "identity_attack", "cv": "threat", "vo": "profanity"}


def load(folder: Path, report: LoadReport | None = None) -> list[Example]:
    report = report if report is not None else LoadReport()
    require(folder, FILE)
    path = folder / FILE
    dedupe = Deduper(report)
    examples = []
    for number, row in read_table(path, ("text", *COLUMNS), report=report, delimiter="\t"):
        report.rows += 1
        text = clean_post(row["text"])
        if not text:
            report.skip("empty text")
            continue
        if not dedupe.first(text):
            continue
        labels: dict[str, float] = {}
        for column, ours in COLUMNS.items():
            value = row[column].strip()
            if value not in ("0", "1"):
                raise DataError(f"{path}:{number}: column {column!r} is {value!r}, expected 0 or 1")
            labels[ours] = float(value)
        labels["hostility"] = max(labels.values())
        examples.append(Example(text, labels, source=NAME))
    return examples


RECIPE = DatasetRecipe(
    name=NAME,
    licence="not stated in the copy used (the readme names none); upstream: OSF project edua3",
    taught="hostility, identity_attack, threat, profanity",
    mapping={
        "hd (assault on human dignity)": "identity_attack",
        "cv (call for violence)": "threat",
        "vo (vulgarity/offensive language)": "profanity",
        "any of hd/cv/vo": "hostility 1",
        "none of hd/cv/vo": "hostility 0 and the three labels 0",
    },
    load=load,
    cap=6000,
    notes=(
        "Posts with none of hd/cv/vo are hostility negatives (the README's advice), though some "
        "are rude without meeting the corpus' hate definition. Capped: every hd/cv/vo post is "
        "kept (the rarest labels first), the rest are negatives."
    ),
)
