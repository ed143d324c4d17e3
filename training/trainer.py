"""Fine-tuning: LoRA (or full) on a local encoder, with masked multi-label and span losses.

``train(args)`` is the whole pipeline: load labelled data, split, encode, train with
checkpoints, then calibrate and tune thresholds on validation through the saved model (so what
is tuned is exactly what will score), evaluate, and write the model card.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import load_file, save_file
from torch import nn

from moderation import compat
from moderation.errors import ConfigError, DataError
from moderation.labelled import (
    Example,
    LoadReport,
    Span,
    infer_labels,
    load_mapping,
    load_many,
    stratified_split,
)
from moderation.labels import BY_NAME, DEFAULT_LABELS, default_groups, describe
from moderation.modeldir import (
    LabelInfo,
    ModelInfo,
    base_weights_sha256,
    read_model_info,
    resolve_base,
    write_json,
    write_model_info,
)
from moderation.network import ModerationNetwork, load_network, save_network, trainable_state
from training.config import TrainingArguments

CHECKPOINT_DIR = "checkpoint"
Log = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Encoded:
    """One training example as tensors' raw material."""

    ids: list[int]
    offsets: list[tuple[int, int]]
    target: np.ndarray  # (L,) float32
    known: np.ndarray  # (L,) bool
    token_target: np.ndarray | None  # (T, L) float32, for examples with span annotations
    token_known: np.ndarray | None  # (L,) bool: labels whose token targets are known
    soft: np.ndarray | None = None  # (L,) float32: a teacher's scores, when distilling
    token_soft: np.ndarray | None = None  # (T, S) float16: its evidence for the span labels


def choose_labels(args: TrainingArguments, examples: Sequence[Example]) -> list[str]:
    """The given label set, else the labels the data annotates (ours first, in our order)."""
    if args.labels:
        return list(dict.fromkeys(args.labels))
    seen: dict[str, None] = {}
    for ex in examples:
        for name in ex.labels:
            seen.setdefault(name, None)
        for span in ex.spans:
            seen.setdefault(span.label, None)
    ordered = [n for n in DEFAULT_LABELS if n in seen]
    ordered += [n for n in seen if n not in BY_NAME]
    # A headline label is learnable from its members even if no file names it directly.
    groups = default_groups(ordered)
    for group in groups:
        if group in BY_NAME and group not in ordered:
            ordered.insert(min(ordered.index(m) for m in groups[group]), group)
    return ordered


def load_data(
    args: TrainingArguments, log: Log = _stderr
) -> tuple[list[Example], list[Example], list[str]]:
    if args.recipe:
        from training.recipes import load_recipe

        train, val, provenance = load_recipe(args.recipe, Path(args.data_dir), args, log)
        train += _augmented(train, args, log)
        args.provenance = provenance
        labels = choose_labels(args, train)
        groups = default_groups(labels)
        return ([infer_labels(ex, groups) for ex in train],
                [infer_labels(ex, groups) for ex in val], labels)
    mapping = load_mapping(args.mapping) if args.mapping else None
    report = LoadReport()
    label_set = args.labels or None
    examples = load_many(args.data, mapping, label_set, report)
    log(f"training data: {report.summary()}")
    if args.validation:
        vreport = LoadReport()
        val = load_many(args.validation, mapping, label_set, vreport)
        log(f"validation data: {vreport.summary()}")
        train = examples
    else:
        train, val = stratified_split(examples, args.val_fraction, args.seed)
    train = train + _augmented(train, args, log)
    labels = choose_labels(args, train)
    if not labels:
        raise DataError("the training data annotates no labels: add label columns or a mapping file")
    groups = default_groups(labels)
    train = [infer_labels(ex, groups) for ex in train]
    val = [infer_labels(ex, groups) for ex in val]
    return train, val, labels


def _augmented(train: Sequence[Example], args: TrainingArguments, log: Log) -> list[Example]:
    if not args.identity_swaps and not args.obfuscated:
        return []
    from training.augment import augment

    made, counts = augment(train, args.identity_swaps, args.obfuscated, args.seed)
    log("augmented training data: " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
    return made


def encode(
    examples: Sequence[Example], tokenizer: Any, labels: Sequence[str], max_length: int
) -> list[Encoded]:
    index = {name: i for i, name in enumerate(labels)}
    groups = default_groups(labels)
    headline_of = {m: g for g, members in groups.items() if g in index for m in members}
    texts = [ex.text for ex in examples]
    # A text longer than max_length tokens is cut to one window of it: the first, unless its
    # evidence lies elsewhere. Then the window holding most of the evidence is kept, so that a
    # post whose offending words come late does not teach "hostile" from words that are not.
    room = max_length - tokenizer.num_special_tokens_to_add(pair=False)
    encoded = tokenizer(texts, truncation=True, max_length=max_length, stride=max(0, room // 2),
                        return_overflowing_tokens=True, return_offsets_mapping=True)
    windows: list[list[int]] = [[] for _ in examples]
    for window, owner in enumerate(encoded["overflow_to_sample_mapping"]):
        windows[owner].append(window)
    out: list[Encoded] = []
    for ex, candidates in zip(examples, windows, strict=True):
        # max keeps the first of equals: the text's start when no window holds any evidence
        w = max(candidates, key=lambda c: _evidence_in(ex.spans, encoded["offset_mapping"][c]))
        ids, offsets = encoded["input_ids"][w], encoded["offset_mapping"][w]
        target = np.zeros(len(labels), dtype=np.float32)
        known = np.zeros(len(labels), dtype=bool)
        for name, value in ex.labels.items():
            if name in index:
                target[index[name]] = value
                known[index[name]] = True
        token_target = token_known = None
        span_labels = {n for n in ex.span_labels if n in index}
        # evidence for a member is evidence for its headline
        span_labels |= {headline_of[n] for n in span_labels if n in headline_of}
        if span_labels:
            token_known = np.zeros(len(labels), dtype=bool)
            for name in span_labels:
                token_known[index[name]] = True
            token_target = np.zeros((len(ids), len(labels)), dtype=np.float32)
            starts = np.array([s for s, _ in offsets])
            ends = np.array([e for _, e in offsets])
            real = ends > starts
            for span in ex.spans:
                hit = real & (starts < span.end) & (ends > span.start)
                for name in {span.label, headline_of.get(span.label, span.label)}:
                    if name in index and name in span_labels:
                        token_target[hit, index[name]] = 1.0
        out.append(Encoded(list(ids), [tuple(o) for o in offsets], target, known, token_target, token_known))
    return out


def _evidence_in(spans: Sequence[Span], offsets: Sequence[tuple[int, int]]) -> int:
    """Characters of the spans inside the window these token offsets cover."""
    real = [(start, end) for start, end in offsets if end > start]
    if not real:
        return 0
    first, last = real[0][0], real[-1][1]
    return sum(max(0, min(span.end, last) - max(span.start, first)) for span in spans)


def epoch_batches(n: int, lengths: Sequence[int], batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Deterministic batches for one epoch: shuffled, then grouped by length within chunks so
    padding stays small, then the batches shuffled again."""
    rng = random.Random(seed * 1000 + epoch)
    order = list(range(n))
    rng.shuffle(order)
    chunk = batch_size * 50
    batches = []
    for start in range(0, n, chunk):
        part = sorted(order[start : start + chunk], key=lambda i: lengths[i])
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return batches


def collate(items: Sequence[Encoded], pad: int) -> dict[str, torch.Tensor]:
    width = max(len(e.ids) for e in items)
    n_labels = len(items[0].target)
    ids = torch.full((len(items), width), pad, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    tok_target = torch.zeros((len(items), width, n_labels))
    tok_known = torch.zeros((len(items), width, n_labels), dtype=torch.bool)
    for row, e in enumerate(items):
        ids[row, : len(e.ids)] = torch.tensor(e.ids)
        mask[row, : len(e.ids)] = 1
        if e.token_target is not None and e.token_known is not None:
            tok_target[row, : len(e.ids)] = torch.from_numpy(e.token_target)
            real = torch.tensor([end > start for start, end in e.offsets])
            tok_known[row, : len(e.ids)] = real[:, None] & torch.from_numpy(e.token_known)[None, :]
    batch = {
        "input_ids": ids,
        "attention_mask": mask,
        "target": torch.from_numpy(np.stack([e.target for e in items])),
        "known": torch.from_numpy(np.stack([e.known for e in items])),
        "token_target": tok_target,
        "token_known": tok_known,
    }
    if items[0].soft is not None:
        spans = items[0].token_soft.shape[1]
        token_soft = torch.zeros((len(items), width, spans))
        token_real = torch.zeros((len(items), width, spans), dtype=torch.bool)
        for row, e in enumerate(items):
            token_soft[row, : len(e.ids)] = torch.from_numpy(e.token_soft.astype(np.float32))
            token_real[row, : len(e.ids)] = torch.tensor([end > start for start, end in e.offsets])[:, None]
        batch.update(soft=torch.from_numpy(np.stack([e.soft for e in items])),
                     token_soft=token_soft, token_real=token_real)
    return batch


def masked_bce(logits: torch.Tensor, target: torch.Tensor, known: torch.Tensor,
               pos_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Binary cross-entropy over known entries only: unknown labels give no gradient."""
    if not known.any():
        return logits.sum() * 0.0
    loss = nn.functional.binary_cross_entropy_with_logits(
        logits, target, pos_weight=pos_weight, reduction="none"
    )
    return (loss * known).sum() / known.sum()


def positive_weights(data: Sequence[Encoded], cap: float) -> torch.Tensor:
    known = np.stack([e.known for e in data]).sum(0)
    positive = np.stack([e.target * e.known for e in data]).sum(0)
    weight = np.where(positive > 0, (known - positive) / np.maximum(positive, 1), 1.0)
    return torch.tensor(np.clip(weight, 1.0, cap), dtype=torch.float32)


def kept_layers(total: int, keep: int | None) -> tuple[int, ...]:
    """``keep`` of ``total`` layers, evenly spaced and ending with the last (3 of 6: 1, 3, 5),
    so the student's top layer is the one the heads were trained on."""
    if not keep or keep >= total:
        return ()
    return tuple(round((i + 1) * total / keep) - 1 for i in range(keep))


def build_network(args: TrainingArguments, base_dir: Path, n_labels: int,
                  teacher: ModerationNetwork | None = None,
                  layers: Sequence[int] = ()) -> ModerationNetwork:
    """LoRA on the base; every weight (``--full``); or a student keeping ``layers`` of the
    base, initialised from the teacher's (adapter merged) layers and heads when there is one."""
    torch.manual_seed(args.seed)
    # Dropout is much of a CPU step's time; the frozen base of LoRA needs none, and neither
    # does a student, whose teacher's soft targets already regularise it.
    default = None if args.full and not args.layers else 0.0
    dropout = args.encoder_dropout if args.encoder_dropout is not None else default
    encoder = compat.load_encoder(base_dir, dropout)
    if teacher is not None:
        encoder.load_state_dict(teacher.encoder.state_dict())
    if layers:
        compat.select_layers(encoder, layers)
        compat.freeze_embeddings(encoder)
    if args.finetune == "full":
        encoder.train()
    else:
        encoder = compat.apply_lora(encoder, args.lora_r, args.lora_alpha, args.lora_dropout)
    network = ModerationNetwork(encoder, n_labels)
    if teacher is not None:
        network.load_head_state(teacher.head_state())
    return network


TEACHER_FILE = "teacher-outputs.safetensors"


def span_columns(info: ModelInfo) -> list[int]:
    """The label columns whose token head gives evidence."""
    return [i for i, label in enumerate(info.labels) if label.spans]


def teacher_outputs(teacher: ModerationNetwork, teacher_info: ModelInfo, data: list[Encoded],
                    pad: int, out: Path, log: Log) -> None:
    """Attach the teacher's probabilities (``soft``, ``token_soft``) to every example.

    Computed once per run and kept in OUT until training ends, so a resumed run does not pay
    for the teacher again; the file is keyed by the teacher's weights and the examples."""
    from moderation.export import graph_key

    spans = span_columns(teacher_info)
    digest = hashlib.sha256(graph_key(teacher_info, "fp32").encode())
    for e in data:
        digest.update(np.asarray(e.ids, dtype=np.int32).tobytes())
    key = digest.hexdigest()
    path = out / TEACHER_FILE
    cached = None
    if path.is_file():
        with safe_open(str(path), "np") as handle:
            if (handle.metadata() or {}).get("key") == key:
                cached = {name: handle.get_tensor(name) for name in handle.keys()}
    if cached is None:
        log(f"scoring {len(data)} examples with the teacher {teacher_info.path}")
        sequence = np.zeros((len(data), len(teacher_info.labels)), dtype=np.float32)
        tokens = [np.zeros((0, len(spans)), dtype=np.float16)] * len(data)
        order = sorted(range(len(data)), key=lambda i: len(data[i].ids))
        started = time.monotonic()
        with torch.inference_mode():
            for start in range(0, len(order), 64):
                rows = order[start : start + 64]
                batch = collate([data[i] for i in rows], pad)
                seq, tok = teacher(batch["input_ids"], batch["attention_mask"])
                sequence[rows] = torch.sigmoid(seq).numpy()
                probs = torch.sigmoid(tok[:, :, spans]).to(torch.float16).numpy()
                for row, i in enumerate(rows):
                    tokens[i] = probs[row, : len(data[i].ids)]
        log(f"teacher scored {len(data)} examples in {_hms(time.monotonic() - started)}")
        cached = {"sequence": sequence, "tokens": np.concatenate(tokens)}
        out.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        save_numpy(cached, str(tmp), metadata={"key": key})
        os.replace(tmp, path)
    offset = 0
    for i, e in enumerate(data):
        e.soft = cached["sequence"][i]
        e.token_soft = cached["tokens"][offset : offset + len(e.ids)]
        offset += len(e.ids)


def make_optimizer(network: ModerationNetwork, args: TrainingArguments) -> torch.optim.AdamW:
    heads = [p for n, p in network.named_parameters() if p.requires_grad and not n.startswith("encoder.")]
    encoder = [p for n, p in network.named_parameters() if p.requires_grad and n.startswith("encoder.")]
    # No decay on the heads: a label whose loss is masked everywhere gets no update at all.
    return torch.optim.AdamW(
        [{"params": encoder, "lr": args.learning_rate, "weight_decay": args.weight_decay},
         {"params": heads, "lr": args.head_learning_rate, "weight_decay": 0.0}],
    )


def lr_factor(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / max(1, warmup)
    return max(0.0, (total - step) / max(1, total - warmup))


# --- checkpoints: safetensors + JSON, never pickle ----------------------------------------


def save_checkpoint(path: Path, network: ModerationNetwork, optimizer: torch.optim.Optimizer,
                    state: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
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
    if path.exists():
        for child in path.iterdir():
            child.unlink()
        path.rmdir()
    tmp.rename(path)


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


# --- the pipeline ----------------------------------------------------------------------------


def train(args: TrainingArguments, log: Log = _stderr) -> Path:
    if not args.out:
        raise ConfigError("an output directory is required (--out)")
    if not args.data and not args.recipe:
        raise ConfigError("no training data given (--data or --recipe)")
    out = Path(args.out)
    if args.threads:
        torch.set_num_threads(args.threads)
    train_ex, val_ex, labels = load_data(args, log)
    teacher_info = teacher = None
    teacher_spans: list[int] = []
    if args.teacher:
        # The student answers with the teacher's labels, whatever this data annotates.
        teacher_info = read_model_info(args.teacher)
        labels = teacher_info.label_names
        teacher_spans = span_columns(teacher_info)
    log(f"{len(train_ex)} training and {len(val_ex)} validation examples; labels: {', '.join(labels)}")
    base_dir = resolve_base(args.base)
    tokenizer = compat.load_tokenizer(base_dir)
    data = encode(train_ex, tokenizer, labels, args.max_length)
    pad = tokenizer.pad_token_id or 0
    if teacher_info is not None:
        teacher = load_network(teacher_info, base=args.base)
        teacher_outputs(teacher, teacher_info, data, pad, out, log)
    layers = kept_layers(compat.layer_count(base_dir), args.layers)
    network = build_network(args, base_dir, len(labels), teacher, layers)
    del teacher
    optimizer = make_optimizer(network, args)
    pos_weight = positive_weights(data, args.max_pos_weight)
    lengths = [len(e.ids) for e in data]
    steps_per_epoch = math.ceil(len(data) / args.batch_size)
    total = args.max_steps or math.ceil(steps_per_epoch * args.epochs)
    warmup = int(total * args.warmup_fraction)
    checkpoint = out / CHECKPOINT_DIR
    config_key = json.dumps({k: v for k, v in args.to_dict().items()
                             if k not in NOT_IN_CHECKPOINT_KEY}, sort_keys=True)

    step = 0
    if args.resume and (checkpoint / "state.json").is_file():
        state = load_checkpoint(checkpoint, network, optimizer)
        if state.get("config") != config_key:
            raise ConfigError(f"{checkpoint}: made with other settings; resume with the same "
                              "settings or start afresh without --resume")
        step = int(state["step"])
        log(f"resumed from {checkpoint} at step {step}/{total}")
    elif args.resume:
        log(f"no checkpoint in {checkpoint}; starting from the beginning")

    base_lrs = [args.learning_rate, args.head_learning_rate]
    network.train()
    started, done_since_start, last_log = time.monotonic(), 0, 0.0
    running = 0.0
    while step < total:
        epoch, offset = divmod(step, steps_per_epoch)
        batches = epoch_batches(len(data), lengths, args.batch_size, args.seed, epoch)
        for batch_index in range(offset, len(batches)):
            if step >= total:
                break
            factor = lr_factor(step, total, warmup)
            for group, base_lr in zip(optimizer.param_groups, base_lrs, strict=True):
                group["lr"] = base_lr * factor
            batch = collate([data[i] for i in batches[batch_index]], pad)
            seq, tok = network(batch["input_ids"], batch["attention_mask"])
            loss = masked_bce(seq, batch["target"], batch["known"], pos_weight)
            if batch["token_known"].any():
                loss = loss + args.span_weight * masked_bce(tok, batch["token_target"], batch["token_known"])
            if "soft" in batch:
                # Weighted as the gold labels are, so a rare label's few confident teacher
                # scores are not drowned by its many near-zero ones.
                distill = masked_bce(seq, batch["soft"], torch.ones_like(batch["known"]), pos_weight)
                distill = distill + args.span_weight * masked_bce(
                    tok[:, :, teacher_spans], batch["token_soft"], batch["token_real"])
                loss = loss + args.distill_weight * distill
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
            optimizer.step()
            step += 1
            done_since_start += len(batches[batch_index])
            running = 0.98 * running + 0.02 * loss.item() if running else loss.item()
            end_of_epoch = batch_index == len(batches) - 1
            if step % args.checkpoint_every == 0 or end_of_epoch or step == total:
                save_checkpoint(checkpoint, network, optimizer, {"step": step, "config": config_key})
            now = time.monotonic()
            if now - last_log > 10 or step == total:
                last_log = now
                rate = done_since_start / max(now - started, 1e-9)
                eta = (total - step) * args.batch_size / max(rate, 1e-9)
                log(f"step {step}/{total} epoch {epoch + 1} loss {running:.4f} "
                    f"{rate:.1f} examples/s ETA {_hms(eta)}")

    network.eval()
    model = finish(args, network, labels, train_ex, val_ex, base_dir, log,
                   teacher_info.labels if teacher_info else (), layers)
    (out / TEACHER_FILE).unlink(missing_ok=True)
    return model


def _hms(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def finish(args: TrainingArguments, network: ModerationNetwork, labels: list[str],
           train_ex: Sequence[Example], val_ex: Sequence[Example], base_dir: Path, log: Log,
           teacher_labels: Sequence[LabelInfo] = (), layers: Sequence[int] = ()) -> Path:
    """Save the model, then calibrate and tune thresholds on validation through a Scorer
    loaded from the saved directory, evaluate, and write the card."""
    from training.card import write_model_card
    from training.thresholds import tune_thresholds

    out = Path(args.out)
    groups = default_groups(labels)
    group_of = {m: g for g, members in groups.items() for m in members}
    # A student learns evidence for every label its teacher gives evidence for.
    span_trained = _span_labels(train_ex, labels) | {label.name for label in teacher_labels if label.spans}
    descriptions = label_descriptions(labels, train_ex)
    info = ModelInfo(
        path=out,
        name=args.name or out.name,
        version=args.version,
        labels=tuple(LabelInfo(n, group_of[n], descriptions[n], spans=n in span_trained) for n in labels),
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
        tune_thresholds(out, val_ex, args.batch_size, log)
    write_model_card(out)
    log(f"model written to {out}")
    return out


# Settings a resumed run may change: they do not touch the trained weights (the scoring windows
# only change calibration and thresholds, which are tuned again when the run finishes).
NOT_IN_CHECKPOINT_KEY = ("resume", "threads", "checkpoint_every", "score_max_length", "stride")
EXPERIMENTAL_BELOW = 100


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
