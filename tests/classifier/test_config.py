"""Training settings: validation with messages that say what to do, TOML with overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from moderation.cli import main
from moderation.errors import ConfigError
from training.config import TrainingArguments


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"batch_size": 0}, "batch_size must be at least 1"),
        ({"max_length": 4}, "between 8 and 512"),
        ({"stride": 200}, "stride must be below half"),
        ({"val_fraction": 1.5}, "val_fraction must be between 0 and 1"),
        ({"learning_rate": 0}, "learning rates must be positive"),
    ],
)
def test_bad_settings_are_refused(settings: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TrainingArguments(**settings)


def test_toml_with_command_line_overrides(tmp_path: Path) -> None:
    path = tmp_path / "train.toml"
    path.write_text('epochs = 2\nbatch_size = 8\nlabels = ["hostility"]\n', encoding="utf-8")
    args = TrainingArguments.from_toml(path, batch_size=16, out="m")
    assert (args.epochs, args.batch_size, args.labels, args.out) == (2, 16, ["hostility"], "m")
    path.write_text("epoch = 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown training setting"):
        TrainingArguments.from_toml(path)


def test_train_command_reports_bad_data_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d.csv"
    data.write_text("text,hostility\nhello,7\n", encoding="utf-8")
    assert main(["train", "--data", str(data), "-o", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "d.csv:2: column 'hostility': 7.0 is outside [0, 1]" in err
    assert "Traceback" not in err
    assert main(["train", "-o", str(tmp_path / "m")]) == 2
    assert "no training data given" in capsys.readouterr().err
