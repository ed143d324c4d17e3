"""Latent Hatred / implicit hate corpus (ElSherief et al. 2021), stage-1 posts: tweets from
hate-group-adjacent accounts labelled not_hate, implicit_hate or explicit_hate.

Implicit and explicit hate attack a group, so both are identity_attack 1. Only explicit hate is
hostility 1: implicit hate is often polite in form, and hostility rates the form too. Not-hate
posts in this corpus are still drawn from heated political accounts, so their hostility is
unknown rather than 0 (they remain identity_attack negatives).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from moderation.errors import DataError
from moderation.labelled import Example, LoadReport
from training.recipes.base import DatasetRecipe, LabelledRow, class_examples, read_table, require

NAME = "implicit-hate"
FILE = "implicit_hate_v1_stg1_posts.tsv"
CLASSES = {
    "not_hate": {"identity_attack": 0.0},
    "implicit_hate": {"identity_attack": 1.0},
    "explicit_hate": {"identity_attack": 1.0, "hostility": 1.0},
}


def load(folder: Path, report: LoadReport | None = None) -> list[Example]:
    report = report if report is not None else LoadReport()
    require(folder, FILE)
    path = folder / FILE

    def rows() -> Iterator[LabelledRow]:
        for number, row in read_table(path, ("post", "class"), report=report, delimiter="\t"):
            labels = CLASSES.get(row["class"].strip())
            if labels is None:
                raise DataError(f"{path}:{number}: class {row['class']!r} is not one of "
                                f"{', '.join(CLASSES)}")
            yield row["post"], labels

    return class_examples(rows(), NAME, report)


RECIPE = DatasetRecipe(
    name=NAME,
    licence="CC BY 4.0",
    taught="identity_attack (incl. implicit), hostility (explicit hate only)",
    mapping={
        "not_hate": "identity_attack 0 (hostility unknown)",
        "implicit_hate": "identity_attack 1 (hostility unknown)",
        "explicit_hate": "identity_attack 1, hostility 1",
    },
    load=load,
    cap=4000,
    notes=(
        "Stage 1 only (stages 2-3 are subtypes and free-text targets). Texts keep the "
        "corpus' own tokenisation. Capped: every explicit-hate post (the rarest), then "
        "implicit hate and not-hate in equal shares."
    ),
)
