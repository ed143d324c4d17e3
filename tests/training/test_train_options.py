"""`moderation train`'s options come from TrainingArguments: every field is an option with its
help, a new field appears without touching the CLI, and options override the settings file,
which overrides the defaults."""

from __future__ import annotations

import argparse
import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from moderation.cli import build_parser, parse_args, training_config
from moderation.options import add_dataclass_options, given_options, option_name
from tests.conftest import REPO
from training.config import TrainingArguments


def train_parser() -> argparse.ArgumentParser:
    [action] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return action.choices["train"]


def parse(*argv: str) -> TrainingArguments:
    return training_config(parse_args(build_parser(), ["train", *argv]))


def test_every_training_setting_is_an_option_with_the_fields_help() -> None:
    actions: dict[str, argparse.Action] = {}
    for action in train_parser()._actions:  # the first per setting (--lora follows --full)
        if action.help is not argparse.SUPPRESS:
            actions.setdefault(action.dest, action)
    for f in dataclasses.fields(TrainingArguments):
        assert f.metadata.get("help"), f"TrainingArguments.{f.name} has no help"
        if not f.metadata.get("command_line", True):
            assert f.name not in actions  # recipes fill it in; only a settings file may hold it
            continue
        action = actions[f.name]
        assert option_name(f) in action.option_strings
        assert action.help and action.help.replace("%%", "%").startswith(f.metadata["help"])
    assert "--lora-r" in actions["lora_r"].option_strings and "--no-resume" in actions["resume"].option_strings


def test_a_new_field_appears_on_the_command_line_without_touching_the_cli() -> None:
    @dataclass
    class WithInit(TrainingArguments):
        init: str | None = field(default=None, metadata={"help": "continue from a trained model",
                                                         "metavar": "DIR"})

    parser = argparse.ArgumentParser(prog="moderation train")
    add_dataclass_options(parser, WithInit)
    assert "--init DIR" in parser.format_help() and "continue from a trained model" in parser.format_help()
    given = given_options(parser.parse_args(["--init", "models/default", "--lora-r", "4"]), WithInit)
    assert given == {"init": "models/default", "lora_r": 4}


def test_types_become_options() -> None:
    @dataclass(frozen=True)
    class Settings:
        flag: bool = field(default=True, metadata={"help": "a switch"})
        sizes: tuple[int, ...] = field(default=(1, 2), metadata={"help": "sizes"})
        where: Path | None = field(default=None, metadata={"help": "a place"})
        mode: Literal["fast", "slow"] = field(default="fast", metadata={"help": "a mode"})
        names: list[str] = field(default_factory=list, metadata={"help": "names", "separator": ","})
        rate: float = field(default=0.5, metadata={"help": "a 50% share"})

    parser = argparse.ArgumentParser()
    add_dataclass_options(parser, Settings)
    text = parser.format_help()
    assert "--flag, --no-flag" in text and "(default: on)" in text and "(default: 1 2)" in text
    assert "a 50% share (default: 0.5)" in text
    args = parser.parse_args(["--no-flag", "--sizes", "3", "4", "--where", "x", "--mode", "slow",
                              "--names", "a,b", "c"])
    assert given_options(args, Settings) == {"flag": False, "sizes": (3, 4), "where": Path("x"),
                                             "mode": "slow", "names": ["a", "b", "c"]}
    assert given_options(parser.parse_args([]), Settings) == {}  # nothing given, nothing set
    with pytest.raises(SystemExit):
        parser.parse_args(["--mode", "medium"])


def test_a_field_no_option_can_hold_must_say_so() -> None:
    @dataclass
    class Odd:
        table: dict[str, int] = field(default_factory=dict, metadata={"help": "a table"})

    with pytest.raises(TypeError, match=r"Odd.table: .* command_line=False"):
        add_dataclass_options(argparse.ArgumentParser(), Odd)


def test_options_override_the_settings_file_which_overrides_the_defaults(tmp_path: Path) -> None:
    toml = tmp_path / "train.toml"
    toml.write_text('epochs = 2.0\nbatch_size = 8\nlora_r = 4\nresume = true\nlabels = ["hostility"]\n',
                    encoding="utf-8")
    config = parse("--config", str(toml), "--batch-size", "16", "--no-resume", "--labels",
                   "insult,threat", "-o", "m")
    assert (config.batch_size, config.resume, config.labels, config.out) == (16, False, ["insult", "threat"], "m")
    assert (config.epochs, config.lora_r) == (2.0, 4)  # from the file
    defaults = TrainingArguments()
    assert (config.warmup_fraction, config.lora_alpha, config.seed) == (
        defaults.warmup_fraction, defaults.lora_alpha, defaults.seed)
    # without a file: options over defaults
    config = parse("--lora-r", "8", "--warmup-fraction", "0.1", "--full", "--lora", "-o", "m")
    assert (config.lora_r, config.warmup_fraction, config.full) == (8, 0.1, False)
    assert config.epochs == defaults.epochs


def test_a_recipes_own_settings_file_is_the_default_config() -> None:
    shipped = tomllib.loads((REPO / "training" / "recipes" / "default.toml").read_text(encoding="utf-8"))
    config = parse("--recipe", "default", "--stride", "16", "-o", "m")
    assert config.stride == 16 and config.stride != shipped["stride"]
    assert (config.max_length, config.learning_rate) == (shipped["max_length"], shipped["learning_rate"])


def test_train_refuses_to_run_without_an_output_directory(capsys: pytest.CaptureFixture[str]) -> None:
    from moderation.cli import main

    assert main(["train", "--data", "x.csv"]) == 2
    assert capsys.readouterr().err == "moderation: give the model directory to write: -o/--output DIR\n"
