"""Adapting a trained model to a site's own labelled comments (``train --init DIR``).

Training continues from the model's adapter (or layers) and heads, with its base, labels and
scoring windows, on the site's examples plus a replay sample of the model's own training data
(its recipe, or its data files, as ``training_config.json`` records them), so that what the
site's few hundred comments do not show is not forgotten. A share of the site's data is held
out from training and calibration; both models are scored on it at their own thresholds, and
the before/after table is logged and written to ``OUT/adaptation.json``.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from moderation import compat
from moderation.errors import ConfigError
from moderation.labelled import (
    Example,
    LoadReport,
    infer_labels,
    load_many,
    load_mapping,
    require_labels,
    stratified_split,
)
from moderation.modeldir import DEFAULT_BASE, ModelInfo, read_model_info, resolve_base, write_json
from moderation.network import ModerationNetwork
from training.config import TrainingArguments
from training.data import Encoded, augmented, encode, load_data
from training.finish import finish
from training.log import Log
from training.model import network_from
from training.teacher import TEACHER_FILE, span_columns, teacher_outputs

ADAPTATION_FILE = "adaptation.json"


def adapt(args: TrainingArguments, log: Log) -> Path:
    """Adapt the model in ``args.init`` to ``args.data``; the adapted model's directory."""
    from training.trainer import train_network

    if args.init is None:
        raise ConfigError("adapting needs --init: the trained model to adapt")
    start = read_model_info(args.init)
    inherit(args, start)
    log(f"adapting {start.name} {start.version} ({start.path}): {start.finetune} over "
        f"{start.base_name}, {len(start.labels)} labels, windows of {start.max_length} tokens")
    site_train, site_val, held_out = site_data(args, start, log)
    site_texts = {ex.text for ex in (*site_train, *site_val, *held_out)}
    replay_train, replay_val, replayed = replay(args, start, site_texts, len(site_train),
                                                len(site_val), log)
    train_ex = site_train + augmented(site_train, args, log) + replay_train
    val_ex = site_val + replay_val
    args.provenance = [*start.data, _site_entry(args, start, site_train, site_val, held_out, replayed)]
    log(f"{len(train_ex)} training ({len(site_train)} site, {len(replay_train)} replayed), "
        f"{len(val_ex)} validation and {len(held_out)} held-out examples")

    base_dir = resolve_base(args.base)
    tokenizer = compat.load_tokenizer(base_dir)
    data = encode(train_ex, tokenizer, start.label_names, args.max_length)
    pad = tokenizer.pad_token_id or 0
    spans = remember(start, data, len(train_ex) - len(replay_train), pad, args, log)
    network = network_from(start, args)
    start_weights = trainable_copy(network) if args.start_share else {}
    train_network(network, data, pad, args, log, spans)
    if args.start_share:
        blend(network, start_weights, args.start_share)
        log(f"weights moved {args.start_share:g} of the way back to {start.name}'s")
    site_labels = frozenset(name for ex in (*site_train, *site_val) for name in ex.labels)
    out = finish(args, network, start.label_names, train_ex, val_ex, base_dir, log,
                 layers=start.layers, start=start,
                 refit=site_labels if args.distill_weight else None)
    (out / TEACHER_FILE).unlink(missing_ok=True)
    table = before_after(start.path, out, held_out, args.batch_size)
    write_json(out / ADAPTATION_FILE, table)
    log(format_before_after(table))
    return out


def remember(start: ModelInfo, data: Sequence[Encoded], site: int, pad: int,
             args: TrainingArguments, log: Log) -> list[int]:
    """Teach the start model's own scores beside the labels (learning without forgetting):
    on replayed texts all of them, on the first ``site`` examples (the site's) those of the
    labels the site leaves unknown, the site's answers standing for the rest. A few hundred site
    comments then move what they annotate and little else: replayed labels alone still let the
    shared encoder drift on every source the replay sample covers thinly. The span columns the
    loss compares, or none when ``args.distill_weight`` is 0."""
    if not args.distill_weight:
        log("the start model's scores are not taught (distill_weight 0)")
        return []
    teacher_outputs([start], list(data), pad, Path(args.out), log, base=args.base)
    spans = span_columns(start)
    for e in data[:site]:
        if e.soft is None or e.token_soft is None:  # set for every example just above
            raise AssertionError("the start model left an example unscored")
        e.soft = np.where(e.known, e.target, e.soft).astype(np.float32)
        if e.token_target is not None and e.token_known is not None:
            known = e.token_known[spans]
            e.token_soft = np.where(known, e.token_target[:, spans], e.token_soft).astype(np.float16)
    return spans


def trainable_copy(network: ModerationNetwork) -> dict[str, Any]:
    """The weights training will change, copied as they are now."""
    return {name: parameter.detach().clone() for name, parameter in network.named_parameters()
            if parameter.requires_grad}


def blend(network: ModerationNetwork, start: dict[str, Any], share: float) -> None:
    """Move every trained weight of ``network`` ``share`` of the way back to its ``start``
    value (``trainable_copy`` before training): an average in weight space (Wortsman et al.
    2022, "Robust fine-tuning of zero-shot models"), which keeps much of what the site taught
    and less of the drift on what it did not show. Averaging a LoRA adapter's two factors
    averages its update to first order, and adapting changes them little."""
    import torch

    with torch.no_grad():
        for name, parameter in network.named_parameters():
            if name in start:
                parameter.lerp_(start[name], share)


def inherit(args: TrainingArguments, start: ModelInfo) -> None:
    """Set what defines the model (base, fine-tuning, LoRA shape, labels, scoring windows) to
    the start model's; refuse settings that would contradict it."""
    names = start.label_names
    if args.labels and list(dict.fromkeys(args.labels)) != names:
        raise ConfigError(f"an adapted model keeps the labels of {start.path} "
                          f"({', '.join(names)}): drop --labels")
    if args.full and start.finetune != "full":
        raise ConfigError(f"{start.path} is a LoRA model: adapting it trains its adapter; drop --full")
    if args.layers and args.layers != len(start.layers):
        raise ConfigError(f"{start.path} keeps {len(start.layers) or 'all'} of the base's layers: "
                          "drop --layers")
    if args.base == DEFAULT_BASE:  # a base given explicitly is checked against the model's
        args.base = start.base_name
    args.labels = names
    args.full = start.finetune == "full" and not start.layers
    args.layers = len(start.layers) or None
    if start.finetune == "lora":
        args.lora_r = int(start.lora.get("r", args.lora_r))
        args.lora_alpha = int(start.lora.get("alpha", args.lora_alpha))
    args.score_max_length, args.stride = start.max_length, start.stride


def site_data(args: TrainingArguments, start: ModelInfo, log: Log
              ) -> tuple[list[Example], list[Example], list[Example]]:
    """The site's examples, with the start model's labels only: training, validation (for
    calibration) and the held-out part.

    A member of a group the site marks positive makes the headline positive, but a calm
    headline leaves the members as the site left them: unknown, so taught as the start model's
    scores (``remember``). The start learned "a calm comment is no threat" from thousands of
    calm comments; taught again as hard negatives on a few hundred of one site's, it moved
    those heads elsewhere. Adapted on 500 Unhealthy Conversations comments (bench/README.md),
    toxic-spans' threat lost 0.046 ROC-AUC with the negatives inferred and 0.008 without
    (means of three runs)."""
    mapping = load_mapping(args.mapping) if args.mapping else None
    report = LoadReport()
    examples = load_many(args.data, mapping, start.label_names, report)
    log(f"site data: {report.summary()}")
    require_labels(examples, args.data, start.label_names, report)
    examples = [infer_labels(ex, start.groups, negatives=False) for ex in examples]
    rest, held_out = stratified_split(examples, args.holdout_fraction, args.seed)
    if args.validation:
        vreport = LoadReport()
        val = load_many(args.validation, mapping, start.label_names, vreport)
        log(f"site validation data: {vreport.summary()}")
        return rest, [infer_labels(ex, start.groups, negatives=False) for ex in val], held_out
    train, val = stratified_split(rest, args.val_fraction, args.seed)
    return train, val, held_out


def replay(args: TrainingArguments, start: ModelInfo, site_texts: set[str], n_train: int,
           n_val: int, log: Log) -> tuple[list[Example], list[Example], str]:
    """A sample of the start model's own training and validation data, in the proportions of
    the site's (``args.replay`` training examples, default as many as the site's), and what it
    was drawn from ("" when nothing could be). A text the site's data holds is left to the
    site: it is not replayed, so none of its held-out texts is trained or calibrated on."""
    wanted = n_train if args.replay is None else args.replay
    if wanted == 0:
        log("replay: none (replay 0): the adapted model learns from the site's data alone")
        return [], [], ""
    original = _original_settings(args, start, log)
    if original is None:
        return [], [], ""
    train, val, _ = load_data(original, lambda message: log(f"replay: {message}"))
    train = [ex for ex in train if ex.text not in site_texts]
    val = [ex for ex in val if ex.text not in site_texts]
    rng = random.Random(f"{args.seed}/replay")
    sample = rng.sample(train, min(wanted, len(train)))
    val_sample = rng.sample(val, min(round(len(sample) * n_val / max(1, n_train)), len(val)))
    source = (f"recipe {original.recipe!r}" if original.recipe
              else ", ".join(Path(path).name for path in original.data))
    log(f"replay: {len(sample)} of {start.name}'s {len(train)} training and {len(val_sample)} of "
        f"its {len(val)} validation examples ({source})")
    return sample, val_sample, source


def _original_settings(args: TrainingArguments, start: ModelInfo, log: Log
                       ) -> TrainingArguments | None:
    """The start model's training settings, to load its data again without augmentation."""
    alone = "; adapting on the site's data alone"
    path = start.path / "training_config.json"
    if not path.is_file():
        log(f"replay: {path} is missing, so {start.name}'s training data is unknown{alone}")
        return None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable ({exc}); replay 0 adapts without it") from None
    known = {f.name for f in fields(TrainingArguments)}
    settings: dict[str, Any] = {k: v for k, v in saved.items() if k in known}
    settings.update(resume=False, identity_swaps=0, obfuscated=0, threads=None, init=None,
                    data_dir=args.data_dir, provenance=[])
    if settings.get("recipe"):
        if not Path(args.data_dir).is_dir():
            log(f"replay: {args.data_dir} not found, so {start.name}'s recipe "
                f"{settings['recipe']!r} cannot be read (point --data-dir at its datasets){alone}")
            return None
    else:
        files = [*settings.get("data", []), *settings.get("validation", [])]
        missing = [name for name in files if not Path(name).is_file()]
        if not files or missing:
            log(f"replay: {start.name}'s training files are not here "
                f"({', '.join(missing) or 'none recorded'}){alone}")
            return None
    return TrainingArguments.from_dict(settings)


def _site_entry(args: TrainingArguments, start: ModelInfo, train: Sequence[Example],
                val: Sequence[Example], held_out: Sequence[Example], replayed: str) -> dict[str, Any]:
    """The provenance entry of the site's data, for the model card."""
    taught = sorted({name for ex in train for name in ex.labels}, key=start.label_names.index)
    also = f", with {replayed} replayed beside it" if replayed else ""
    return {
        "name": "site data",
        "licence": "the site's own",
        "taught": ", ".join(taught),
        "examples": len(train),
        "validation": len(val),
        "notes": f"Adapted from {start.name} {start.version} on "
                 f"{', '.join(Path(path).name for path in args.data)}{also}; "
                 f"{len(held_out)} examples ({args.holdout_fraction:.0%}) held out to compare the "
                 f"two ({ADAPTATION_FILE}).",
    }


# --- before and after -----------------------------------------------------------------------


def before_after(before: Path, after: Path, examples: Sequence[Example],
                 batch_size: int) -> dict[str, Any]:
    """Both models on ``examples``, each at its own thresholds: per label the ROC-AUC and AP
    where the label is annotated, and the review rate (the share of all the examples the label
    flags); and the share any label flags. The examples are judged with the label logic, as
    in ``moderation evaluate``."""
    from moderation.evaluate import evaluate
    from moderation.scorer import Scorer

    groups = read_model_info(before).groups
    examples = [infer_labels(ex, groups, judging=True) for ex in examples]
    texts = [ex.text for ex in examples]
    table: dict[str, Any] = {"examples": len(examples), "models": {}, "labels": {},
                             "any_label": {}}
    for side, path in (("before", before), ("after", after)):
        scorer = Scorer(path, backend="torch", batch_size=batch_size)
        raw = scorer.raw_batch(texts)
        probs = (np.stack([scorer.calibrate(r.logits) for r in raw]) if raw
                 else np.zeros((0, len(scorer.labels))))
        flagged = probs >= np.array([label.threshold for label in scorer.info.labels])
        measured = evaluate(scorer, examples, raw).by_label()
        table["models"][side] = {"path": str(path), "name": scorer.info.name,
                                 "version": scorer.info.version}
        for i, label in enumerate(scorer.info.labels):
            m = measured.get(label.name)
            row = table["labels"].setdefault(label.name, {"known": m.known if m else 0,
                                                          "positives": m.support if m else 0})
            row[side] = {"roc_auc": _number(m.roc_auc) if m else None,
                         "average_precision": _number(m.average_precision) if m else None,
                         "threshold": label.threshold,
                         "review_rate": _rate(flagged[:, i])}
        table["any_label"][side] = {"review_rate": _rate(np.asarray(flagged.any(axis=1)))}
    return table


def _number(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _rate(flags: np.ndarray) -> float | None:
    return float(flags.mean()) if flags.size else None


def format_before_after(table: dict[str, Any]) -> str:
    """The table as text: labels the held-out examples annotate, or that either model flags."""
    def f(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f}%"

    models = table["models"]
    columns = [f"{measure} {side}" for measure in ("AUC", "AP", "review") for side in ("before", "after")]
    lines = [f"before: {models['before']['name']} {models['before']['version']}, after: "
             f"{models['after']['name']} {models['after']['version']}, on {table['examples']} "
             "held-out site examples, each at its own thresholds",
             f"{'label':<27} {'known':>5} {'pos':>4} " + " ".join(f"{c:>13}" for c in columns)]
    for name, row in table["labels"].items():
        b, a = row["before"], row["after"]
        if not row["known"] and not b["review_rate"] and not a["review_rate"]:
            continue
        cells = [f(b["roc_auc"]), f(a["roc_auc"]), f(b["average_precision"]),
                 f(a["average_precision"]), pct(b["review_rate"]), pct(a["review_rate"])]
        lines.append(f"{name:<27} {row['known']:>5} {row['positives']:>4} "
                     + " ".join(f"{c:>13}" for c in cells))
    rates = [pct(table["any_label"][side]["review_rate"]) for side in ("before", "after")]
    lines.append(f"{'(any label)':<27} {'':>5} {'':>4} {'':>13} {'':>13} {'':>13} {'':>13} "
                 + " ".join(f"{c:>13}" for c in rates))
    return "\n".join(lines)
