"""A trained network becomes a model directory: weights, config and labels, then calibration
and thresholds tuned on validation through the saved directory (so what is tuned is exactly
what will score), its evaluation, and the model card."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from moderation.labelled import Example
from moderation.labels import default_groups, describe
from moderation.modeldir import (
    LabelInfo,
    ModelInfo,
    base_weights_sha256,
    write_json,
    write_model_info,
)
from moderation.network import ModerationNetwork, save_network
from training.config import TrainingArguments
from training.log import Log

EXPERIMENTAL_BELOW = 100


def finish(args: TrainingArguments, network: ModerationNetwork, labels: list[str],
           train_ex: Sequence[Example], val_ex: Sequence[Example], base_dir: Path, log: Log,
           teacher_labels: Sequence[LabelInfo] = (), layers: Sequence[int] = (),
           start: ModelInfo | None = None, refit: frozenset[str] | None = None) -> Path:
    """Save the model, then calibrate and tune thresholds on validation through a Scorer
    loaded from the saved directory, evaluate, and write the card.

    ``start`` is the model this one was adapted from: its labels keep their descriptions,
    thresholds and (where validation cannot fit them again, or for labels not in ``refit``)
    calibration."""
    from training.card import write_model_card
    from training.thresholds import tune_thresholds

    out = Path(args.out)
    groups = default_groups(labels)
    group_of = {m: g for g, members in groups.items() for m in members}
    # A student learns evidence for every label its teacher gives evidence for.
    span_trained = _span_labels(train_ex, labels) | {label.name for label in teacher_labels if label.spans}
    if start is not None:
        label_infos = tuple(replace(start.label(n), spans=start.label(n).spans or n in span_trained)
                            for n in labels)
    else:
        descriptions = label_descriptions(labels, train_ex)
        label_infos = tuple(LabelInfo(n, group_of[n], descriptions[n], spans=n in span_trained)
                            for n in labels)
    info = ModelInfo(
        path=out,
        name=args.name or out.name,
        version=args.version,
        labels=label_infos,
        base_name=args.base,
        base_sha256=base_weights_sha256(base_dir),
        finetune=args.finetune,
        max_length=args.score_max_length,
        stride=args.stride,
        lora={"r": args.lora_r, "alpha": args.lora_alpha} if args.finetune == "lora" else {},
        data=tuple(args.provenance),
        layers=tuple(layers),
    )
    save_network(network, out, args.finetune)
    write_model_info(info)
    write_json(out / "training_config.json", args.to_dict())

    if val_ex:
        tune_thresholds(out, val_ex, args.batch_size, log, start, refit)
    write_model_card(out)
    log(f"model written to {out}")
    return out


def label_descriptions(labels: Sequence[str], train_ex: Sequence[Example]) -> dict[str, str]:
    """Each label's description, marked experimental when it had few positive examples."""
    positives = dict.fromkeys(labels, 0)
    for ex in train_ex:
        for name, value in ex.labels.items():
            if name in positives and value >= 0.5:
                positives[name] += 1
    return {
        name: describe(name) + (f" (experimental: {positives[name]} positive training examples)"
                                if positives[name] < EXPERIMENTAL_BELOW else "")
        for name in labels
    }


def _span_labels(examples: Sequence[Example], labels: Sequence[str]) -> set[str]:
    """Labels whose token head was trained: annotated spans, and headlines of those."""
    found = {n for ex in examples for n in ex.span_labels}
    groups = default_groups(labels)
    found |= {g for g, members in groups.items() if g in labels and found & set(members)}
    return found & set(labels)
