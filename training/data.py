"""Training data: labelled files or a recipe, split, augmented, label set chosen, then encoded
into token ids and targets, and grouped into each epoch's batches.

Imports no torch: the tensors are made from these records by ``training.collate``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from moderation.errors import DataError
from moderation.labelled import (
    Example,
    LoadReport,
    Span,
    infer_labels,
    load_many,
    load_mapping,
    stratified_split,
)
from moderation.labels import BY_NAME, DEFAULT_LABELS, default_groups, likely_meant
from training.config import TrainingArguments
from training.log import Log, stderr


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
    args: TrainingArguments, log: Log = stderr
) -> tuple[list[Example], list[Example], list[str]]:
    """Training and validation examples (labels inferred within groups) and the label set."""
    if args.recipe:
        from training.recipes import load_recipe

        train, val, provenance = load_recipe(args.recipe, Path(args.data_dir), args, log)
        train += augmented(train, args, log)
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
    train = train + augmented(train, args, log)
    labels = choose_labels(args, train)
    if not labels:
        raise DataError("the training data annotates no labels: add label columns or a mapping file")
    for name in labels:
        meant = likely_meant(name)
        if meant:
            log(f"warning: {name!r} is not a built-in label (did you mean {meant!r}?): it trains as a "
                "label of its own; rename the column, or map it in a mapping file ([labels])")
    groups = default_groups(labels)
    train = [infer_labels(ex, groups) for ex in train]
    val = [infer_labels(ex, groups) for ex in val]
    return train, val, labels


def augmented(train: Sequence[Example], args: TrainingArguments, log: Log) -> list[Example]:
    """The copies of training examples the settings ask for (``training.augment``)."""
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
    batches: list[list[int]] = []
    for start in range(0, n, chunk):
        part = sorted(order[start : start + chunk], key=lambda i: lengths[i])
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return batches
