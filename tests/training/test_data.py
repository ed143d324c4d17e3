"""Training data from a user's own files: the labels it trains, and a label name one typo away
from a built-in one caught before a model is trained under it."""

from __future__ import annotations

from pathlib import Path

from training.config import TrainingArguments
from training.data import load_data


def test_a_column_one_typo_from_a_built_in_label_is_named_with_the_label_it_likely_meant(
        tmp_path: Path) -> None:
    path = tmp_path / "site.csv"
    rows = [("you utter fool", 1, 1), ("lovely photos", 0, 0)] * 5
    path.write_text("text,hostilty,spamminess\n" + "".join(f"{t},{h},{s}\n" for t, h, s in rows),
                    encoding="utf-8")
    logged: list[str] = []
    _, _, labels = load_data(TrainingArguments(data=[str(path)]), logged.append)
    # A label of one's own still trains as named: the warning says what it probably meant.
    assert labels == ["hostilty", "spamminess"]
    warnings = [line for line in logged if line.startswith("warning:")]
    assert len(warnings) == 1 and "'hostilty'" in warnings[0] and "did you mean 'hostility'" in warnings[0]
