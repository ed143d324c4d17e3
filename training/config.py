"""Training configuration: one dataclass, loadable from TOML, overridable from the command line.

The resolved configuration is saved beside the model it produced (``training_config.json``).
``moderation train`` makes one option per field from its type and ``metadata`` (see
:mod:`moderation.options`): a new field needs a ``help`` and nothing in the CLI. This module
must not import torch, so that ``moderation train --help`` stays fast.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from moderation.errors import ConfigError
from moderation.modeldir import DEFAULT_BASE


@dataclass
class TrainingArguments:
    data: list[str] = field(default_factory=list, metadata={"help": "labelled CSV/TSV/JSONL files",
                                                             "metavar": "PATH"})
    out: str = field(default="", metadata={"help": "model directory to write", "metavar": "DIR",
                                           "flags": ("-o", "--output"), "deprecated": ("--out",)})
    mapping: str | None = field(default=None, metadata={"help": "column mapping file (JSON/TOML)",
                                                        "metavar": "FILE"})
    recipe: str | None = field(default=None, metadata={"help": "a dataset recipe from "
                               "training/recipes (e.g. 'default') instead of --data; its "
                               "settings file, if it ships one, is the default --config",
                               "metavar": "NAME"})
    data_dir: str = field(default="../shared/data", metadata={"help": "where recipes find the "
                          "public datasets", "metavar": "DIR"})
    max_per_dataset: int | None = field(default=None, metadata={"help": "recipes: subsample each "
                                        "dataset's training part to at most this many examples"})
    validation: list[str] = field(default_factory=list, metadata={"help": "validation files; "
                                  "default: a stratified split of --data", "metavar": "PATH"})
    val_fraction: float = field(default=0.1, metadata={"help": "validation share when splitting"})
    base: str = field(default=DEFAULT_BASE, metadata={"help": "base encoder: the installed "
                      "package name or a local model directory"})
    labels: list[str] = field(default_factory=list, metadata={"help": "label set (names, or one "
                              "comma-separated list); default: the labels the data annotates",
                              "metavar": "NAME", "separator": ","})
    full: bool = field(default=False, metadata={"help": "fine-tune every layer of the encoder "
                       "(the embeddings stay the base's) instead of a LoRA adapter plus heads (the "
                       "default: --no-full or --lora)", "off": ("--lora",)})
    layers: int | None = field(default=None, metadata={"help": "keep only this many of the "
                               "encoder's layers, evenly spaced and ending with the last: a "
                               "smaller, faster student whose layers train fully while the "
                               "embeddings stay the base's"})
    teacher: list[str] = field(default_factory=list, metadata={"help": "model directories to "
                               "distil: the student learns their scores and evidence on every "
                               "example as well as the gold labels; with several, those of "
                               "their ensemble (the mean logit, the mean evidence), at one "
                               "model's cost. A student keeping --layers (or --full) starts "
                               "from the first one's weights, a LoRA student from the base",
                               "metavar": "DIR"})
    distill_weight: float = field(default=1.0, metadata={"help": "weight of the teacher's loss "
                                  "(with --init: of the start model's own scores, which keep what "
                                  "the site's data does not teach; 0 to train on labels alone)"})
    init: str | None = field(default=None, metadata={"help": "a trained model directory to adapt "
                             "to --data (a site's own labelled comments): training continues from "
                             "its adapter or layers and heads, keeping its base, labels and "
                             "scoring windows; its thresholds are kept and its calibration fitted "
                             "again. Ends with a before/after table (adaptation.json)",
                             "metavar": "DIR"})
    replay: int | None = field(default=None, metadata={"help": "with --init: this many examples "
                               "of the init model's own training data (its recipe, read from "
                               "--data-dir, or its data files) mixed in, so it does not forget "
                               "what the site's data does not show; default: as many as the "
                               "site's training examples; 0 for none", "metavar": "N"})
    holdout_fraction: float = field(default=0.2, metadata={"help": "with --init: share of --data "
                                    "held out to measure the model before and after adapting"})
    start_share: float = field(default=0.0, metadata={"help": "with --init: after training, move "
                               "the adapted weights this share of the way back to the start "
                               "model's (0: as trained; 0.5: their average), which keeps more of "
                               "what the site's data does not show"})
    epochs: float = field(default=3.0, metadata={"help": "passes over the training data"})
    max_steps: int | None = field(default=None, metadata={"help": "stop after this many steps"})
    batch_size: int = field(default=32, metadata={"help": "training examples per step"})
    max_length: int = field(default=128, metadata={"help": "tokens per training example"})
    score_max_length: int = field(default=256, metadata={"help": "window size when scoring"})
    stride: int = field(default=64, metadata={"help": "window overlap when scoring"})
    learning_rate: float = field(default=5e-4, metadata={"help": "encoder learning rate (use about 5e-5 with --full)"})
    head_learning_rate: float = field(default=2e-3, metadata={"help": "heads' learning rate"})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay of the encoder"})
    warmup_fraction: float = field(default=0.06, metadata={"help": "share of the steps over which "
                                   "the learning rate rises from 0 (then it falls linearly)"})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha (the adapter's scale is "
                            "alpha / rank)"})
    lora_dropout: float = field(default=0.0, metadata={"help": "dropout on the LoRA adapter's input"})
    encoder_dropout: float | None = field(default=None, metadata={"help": "dropout inside the "
                                          "encoder; default 0 with LoRA (the frozen base needs "
                                          "none, and dropout is much of a CPU step's time), the "
                                          "base's own with --full"})
    identity_swaps: int = field(default=0, metadata={"help": "add this many training copies "
                                "with the group a text names swapped for another (labels kept)"})
    obfuscated: int = field(default=0, metadata={"help": "add this many training copies of "
                            "hostile texts with the offending word obfuscated (labels kept)"})
    span_weight: float = field(default=1.0, metadata={"help": "weight of the token (span) loss"})
    max_pos_weight: float = field(default=10.0, metadata={"help": "cap on positive-class weights"})
    checkpoint_every: int = field(default=200, metadata={"help": "steps between checkpoints",
                                                         "metavar": "STEPS"})
    resume: bool = field(default=False, metadata={"help": "continue a stopped run from the "
                         "checkpoint in its output directory"})
    seed: int = field(default=13, metadata={"help": "random seed: validation split, "
                      "initialisation, example order"})
    draw: int = field(default=0, metadata={"help": "another draw of the same run: the "
                      "initialisation and the order of the examples change with it, the data, "
                      "its split and the augmented copies do not. Train a few draws to see how "
                      "far a setting's figures move by chance (bench/draws.py)"})
    threads: int | None = field(default=None, metadata={"help": "torch CPU threads"})
    name: str | None = field(default=None, metadata={"help": "model name (default: the output "
                             "directory's name)"})
    version: str = field(default="0.1.0", metadata={"help": "model version, written into its "
                         "files and card"})
    provenance: list[dict[str, Any]] = field(default_factory=list, metadata={"help": "datasets "
                                             "used, with licences (recipes fill this in)",
                                             "command_line": False})

    def __post_init__(self) -> None:
        if self.epochs <= 0 and not self.max_steps:
            raise ConfigError("epochs must be > 0 (or give max_steps)")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {self.batch_size}")
        if not 8 <= self.max_length <= 512 or not 8 <= self.score_max_length <= 512:
            raise ConfigError("max_length and score_max_length must be between 8 and 512 tokens")
        if not 0 <= self.stride < self.score_max_length // 2:
            raise ConfigError("stride must be below half of score_max_length")
        if not 0 < self.val_fraction < 1:
            raise ConfigError(f"val_fraction must be between 0 and 1, got {self.val_fraction}")
        if self.learning_rate <= 0 or self.head_learning_rate <= 0:
            raise ConfigError("learning rates must be positive")
        if self.lora_r < 1:
            raise ConfigError("lora_r must be at least 1")
        if self.layers is not None and self.layers < 1:
            raise ConfigError(f"layers must be at least 1, got {self.layers}")
        if self.distill_weight < 0:
            raise ConfigError("distill_weight must not be negative")
        if self.identity_swaps < 0 or self.obfuscated < 0:
            raise ConfigError("identity_swaps and obfuscated must not be negative")
        if self.draw < 0:
            raise ConfigError(f"draw must not be negative, got {self.draw}")
        if self.checkpoint_every < 1:
            raise ConfigError("checkpoint_every must be at least 1")
        if not 0 < self.holdout_fraction < 1:
            raise ConfigError(f"holdout_fraction must be between 0 and 1, got {self.holdout_fraction}")
        if not 0 <= self.start_share < 1:
            raise ConfigError(f"start_share must be at least 0 and below 1, got {self.start_share}")
        if self.start_share and not self.init:
            raise ConfigError("start_share moves an adapted model back towards the one it started "
                              "from: it needs --init")
        if self.replay is not None and self.replay < 0:
            raise ConfigError(f"replay must not be negative, got {self.replay}")
        if self.init and (self.teacher or self.recipe):
            raise ConfigError("init adapts a model to --data: it takes no teacher or recipe (the "
                              "init model's own recipe is replayed from --data-dir)")

    @classmethod
    def from_toml(cls, path: str | Path, **overrides: Any) -> TrainingArguments:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read the training config ({exc})") from None
        return cls.from_dict({**data, **{k: v for k, v in overrides.items() if v is not None}})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingArguments:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown training setting(s): {', '.join(sorted(unknown))}")
        if isinstance(data.get("teacher"), str):  # one teacher, as a settings file may name it
            data = {**data, "teacher": [data["teacher"]]}
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def finetune(self) -> str:
        return "full" if self.full or self.layers else "lora"
