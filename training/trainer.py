"""Fine-tuning: LoRA (or full) on a local encoder, with masked multi-label and span losses.

``train(args)`` is the whole pipeline: load labelled data, split, encode (``training.data``),
score the examples with a teacher when distilling (``training.teacher``), build the network
(``training.model``), train with checkpoints (``training.loop``, ``training.checkpoints``),
then save, calibrate and tune thresholds on validation through the saved model, evaluate, and
write the model card (``training.finish``). With ``args.init`` it adapts a trained model to a
site's data instead (``training.adapt``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import torch

from moderation import compat
from moderation.errors import ConfigError
from moderation.modeldir import read_model_info, resolve_base
from moderation.network import ModerationNetwork, load_network
from training.checkpoints import CHECKPOINT_DIR, config_key, load_checkpoint
from training.config import TrainingArguments
from training.data import Encoded, encode, load_data
from training.finish import finish
from training.log import Log, stderr
from training.loop import fit
from training.model import build_network, kept_layers
from training.schedule import make_optimizer, make_schedule, restore_schedule
from training.teacher import span_columns, teacher_file, teacher_outputs


def train(args: TrainingArguments, log: Log = stderr) -> Path:
    if not args.out:
        raise ConfigError("an output directory is required (--out)")
    if not args.data and not args.recipe:
        raise ConfigError("no training data given (--data or --recipe)")
    out = Path(args.out)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.init:
        from training.adapt import adapt

        return adapt(args, log)
    train_ex, val_ex, labels = load_data(args, log)
    teachers = [read_model_info(path) for path in args.teacher]
    teacher_spans: list[int] = []
    if teachers:
        # The student answers with the teachers' labels, whatever this data annotates.
        labels = teachers[0].label_names
        teacher_spans = span_columns(teachers[0])
        for other in teachers[1:]:
            if other.label_names != labels or span_columns(other) != teacher_spans:
                raise ConfigError(f"teachers {teachers[0].path} and {other.path} answer with other "
                                  "labels or evidence: an ensemble needs the same of both")
    log(f"{len(train_ex)} training and {len(val_ex)} validation examples; labels: {', '.join(labels)}")
    base_dir = resolve_base(args.base)
    tokenizer = compat.load_tokenizer(base_dir)
    data = encode(train_ex, tokenizer, labels, args.max_length)
    pad = tokenizer.pad_token_id or 0
    if teachers:
        teacher_outputs(teachers, data, pad, out, log, base=args.base)
    # A student that trains its layers starts from the first teacher's; a LoRA adapter cannot
    # carry a teacher's weights (it loads on top of the base), so a LoRA student starts there.
    start = (load_network(teachers[0], base=args.base)
             if teachers and args.finetune == "full" else None)
    layers = kept_layers(compat.layer_count(base_dir), args.layers)
    network = build_network(args, base_dir, len(labels), start, layers)
    del start
    train_network(network, data, pad, args, log, teacher_spans)
    model = finish(args, network, labels, train_ex, val_ex, base_dir, log,
                   teachers[0].labels if teachers else (), layers)
    for index in range(len(teachers)):
        (out / teacher_file(index)).unlink(missing_ok=True)
    return model


def train_network(network: ModerationNetwork, data: Sequence[Encoded], pad: int,
                  args: TrainingArguments, log: Log, teacher_spans: Sequence[int] = ()) -> None:
    """The optimiser, its schedule and the loop, continued from ``OUT/checkpoint`` with
    ``args.resume`` when the checkpoint was made with the same settings."""
    optimizer = make_optimizer(network, args)
    steps_per_epoch = math.ceil(len(data) / args.batch_size)
    total = args.max_steps or math.ceil(steps_per_epoch * args.epochs)
    warmup = int(total * args.warmup_fraction)
    checkpoint = Path(args.out) / CHECKPOINT_DIR
    key = config_key(args)

    step = 0
    saved_schedule = None
    if args.resume and (checkpoint / "state.json").is_file():
        state = load_checkpoint(checkpoint, network, optimizer)
        if state.get("config") != key:
            raise ConfigError(f"{checkpoint}: made with other settings; resume with the same "
                              "settings or start afresh without --resume")
        step = int(state["step"])
        # Checkpoints made before schedules were saved have none: the step places it alike.
        saved_schedule = state.get("schedule")
        log(f"resumed from {checkpoint} at step {step}/{total}")
    elif args.resume:
        log(f"no checkpoint in {checkpoint}; starting from the beginning")
    schedule = make_schedule(optimizer, total, warmup, done=step)
    if saved_schedule is not None:
        restore_schedule(schedule, saved_schedule, step, str(checkpoint))

    fit(network, optimizer, schedule, data, pad, args, step=step, total=total,
        checkpoint=checkpoint, key=key, teacher_spans=teacher_spans, log=log)
