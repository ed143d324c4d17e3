"""Checkpoints of a run: safetensors and JSON, never pickle.

``OUT/checkpoint`` holds the trainable weights, the optimiser's moments and the random state
(safetensors), and the step and settings (``state.json``). A run resumes from it only with the
settings it was made with (``config_key``).
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from moderation.errors import ConfigError
from moderation.io import atomic_directory
from moderation.modeldir import write_json
from moderation.network import ModerationNetwork, trainable_state
from training.config import TrainingArguments

CHECKPOINT_DIR = "checkpoint"
# Settings a resumed run may change: they do not touch the trained weights (the scoring windows
# only change calibration and thresholds, which are tuned again when the run finishes;
# start_share moves the weights once training has ended).
NOT_IN_CHECKPOINT_KEY = ("resume", "threads", "checkpoint_every", "score_max_length", "stride",
                         "start_share")
# Settings added after checkpoints were first written count only when set, so that a run
# stopped before they existed still resumes.
ADDED_LATER = ("init", "replay", "holdout_fraction", "draw")


def config_key(args: TrainingArguments) -> str:
    """The settings a checkpoint was made with, as one comparable string."""
    defaults = {f.name: f.default for f in fields(TrainingArguments) if f.name in ADDED_LATER}
    settings = args.to_dict()
    # One teacher is keyed as it was before a run could have several, so such a run resumes.
    settings["teacher"] = (settings["teacher"][0] if len(settings["teacher"]) == 1
                           else settings["teacher"] or None)
    return json.dumps({k: v for k, v in settings.items()
                       if k not in NOT_IN_CHECKPOINT_KEY
                       and not (k in defaults and v == defaults[k])}, sort_keys=True)


def save_checkpoint(path: Path, network: ModerationNetwork, optimizer: torch.optim.Optimizer,
                    state: dict[str, Any]) -> None:
    """Write the checkpoint whole beside ``path`` and swap it in: a run killed at any moment
    leaves the previous checkpoint or this one, never a mix."""
    with atomic_directory(path) as tmp:
        _write_checkpoint(tmp, network, optimizer, state)


def _write_checkpoint(tmp: Path, network: ModerationNetwork, optimizer: torch.optim.Optimizer,
                      state: dict[str, Any]) -> None:
    save_file(trainable_state(network), str(tmp / "trainable.safetensors"))
    opt_state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    steps: dict[str, float] = {}
    for pid, entry in opt_state["state"].items():
        for key, value in entry.items():
            if key == "step":
                steps[str(pid)] = float(value)
            else:
                tensors[f"{pid}.{key}"] = value.contiguous()
    tensors["rng.torch"] = torch.get_rng_state()  # dropout masks continue as if never stopped
    save_file(tensors, str(tmp / "optimizer.safetensors"))
    write_json(tmp / "state.json", {**state, "optimizer_steps": steps})


def load_checkpoint(path: Path, network: ModerationNetwork,
                    optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    state = json.loads((path / "state.json").read_text())
    params = dict(network.named_parameters())
    for name, value in load_file(str(path / "trainable.safetensors")).items():
        if name not in params:
            raise ConfigError(f"{path}: checkpoint does not fit this configuration ({name})")
        with torch.no_grad():
            params[name].copy_(value)
    tensors = load_file(str(path / "optimizer.safetensors"))
    torch.set_rng_state(tensors.pop("rng.torch"))
    opt_state = optimizer.state_dict()
    restored: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        pid, name = key.split(".", 1)
        restored.setdefault(int(pid), {})[name] = value
    for pid, step in state.pop("optimizer_steps").items():
        restored.setdefault(int(pid), {})["step"] = torch.tensor(step)
    opt_state["state"] = restored
    optimizer.load_state_dict(opt_state)
    return state
