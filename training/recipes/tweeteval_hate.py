"""TweetEval hate (HatEval 2019: hate against immigrants and women), train + val.

Hate is identity_attack 1 and hostility 1. Not-hate tweets are only identity_attack 0: HatEval
drew them from the same heated searches and many are offensive without being hate.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from moderation.errors import DataError
from moderation.labelled import Example, LoadReport
from training.recipes.base import DatasetRecipe, LabelledRow, class_examples, read_lines, require

NAME = "tweeteval-hate"
SPLITS = ("train", "val")
VALUES = {"0": {"identity_attack": 0.0}, "1": {"identity_attack": 1.0, "hostility": 1.0}}


def load(folder: Path, report: LoadReport | None = None) -> list[Example]:
    require(folder, *(f"{split}_{kind}.txt" for split in SPLITS for kind in ("text", "labels")))

    def rows() -> Iterator[LabelledRow]:
        for split in SPLITS:
            texts = read_lines(folder / f"{split}_text.txt")
            values = read_lines(folder / f"{split}_labels.txt")
            if len(texts) != len(values):
                raise DataError(f"{folder / f'{split}_labels.txt'}: {len(values)} labels for "
                                f"{len(texts)} tweets in {split}_text.txt")
            for number, (raw, value) in enumerate(zip(texts, values, strict=True), 1):
                labels = VALUES.get(value.strip())
                if labels is None:
                    raise DataError(f"{folder / f'{split}_labels.txt'}:{number}: label {value!r} "
                                    "is not 0 or 1")
                yield raw, labels

    return class_examples(rows(), NAME, report if report is not None else LoadReport())


RECIPE = DatasetRecipe(
    name=NAME,
    licence="TweetEval adds no restriction; HatEval 2019 terms apply (research use)",
    taught="identity_attack, hostility (positives only)",
    mapping={
        "1 hate": "identity_attack 1, hostility 1",
        "0 not-hate": "identity_attack 0 (hostility unknown)",
    },
    load=load,
    cap=3000,
    notes="HTML entities decoded. Capped: hate and not-hate in equal shares.",
)
