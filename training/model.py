"""The network to train: LoRA on the base, every layer of it, or a student keeping some of the
base's layers and starting from a teacher's; or a trained model's own, to adapt it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from moderation import compat
from moderation.modeldir import ModelInfo
from moderation.network import ModerationNetwork, load_network
from training.config import TrainingArguments


def kept_layers(total: int, keep: int | None) -> tuple[int, ...]:
    """``keep`` of ``total`` layers, evenly spaced and ending with the last (3 of 6: 1, 3, 5),
    so the student's top layer is the one the heads were trained on."""
    if not keep or keep >= total:
        return ()
    return tuple(round((i + 1) * total / keep) - 1 for i in range(keep))


def encoder_dropout(args: TrainingArguments) -> float | None:
    """The encoder's dropout while training (None: the base's own)."""
    if args.encoder_dropout is not None:
        return args.encoder_dropout
    # Dropout is much of a CPU step's time; the frozen base of LoRA needs none, and neither
    # does a student, whose teacher's soft targets already regularise it.
    return None if args.full and not args.layers else 0.0


def build_network(args: TrainingArguments, base_dir: Path, n_labels: int,
                  teacher: ModerationNetwork | None = None,
                  layers: Sequence[int] = ()) -> ModerationNetwork:
    """LoRA on the base; every layer (``--full``, the embeddings kept the base's); or a
    student keeping ``layers`` of the base. One that trains its layers starts from
    ``teacher``'s (adapter merged) layers and heads when given one; a LoRA adapter cannot, as it
    loads on top of the base."""
    if teacher is not None and args.finetune != "full":
        raise ValueError("a LoRA adapter starts from the base, not from a teacher's weights")
    torch.manual_seed(args.seed + args.draw)
    base_encoder = compat.load_encoder(base_dir, encoder_dropout(args))
    if teacher is not None:
        base_encoder.load_state_dict(teacher.encoder.state_dict())
    if layers:
        compat.select_layers(base_encoder, layers)
    encoder: compat.Encoder = base_encoder
    if args.finetune == "full":  # a student too
        # The embeddings stay the base's and load from it: the model ships its layers only.
        compat.freeze_embeddings(base_encoder)
        encoder.train()
    else:
        encoder = compat.apply_lora(base_encoder, args.lora_r, args.lora_alpha, args.lora_dropout)
    network = ModerationNetwork(encoder, n_labels)
    if teacher is not None:
        network.load_head_state(teacher.head_state())
    return network


def network_from(info: ModelInfo, args: TrainingArguments) -> ModerationNetwork:
    """A trained model's network to train on: its LoRA adapter (trainable, over the frozen
    base) or its encoder layers (the embeddings stay frozen), and its heads."""
    torch.manual_seed(args.seed + args.draw)
    network = load_network(info, base=args.base, merge=False, dropout=encoder_dropout(args))
    if info.finetune == "full":
        compat.freeze_embeddings(network.encoder)
    return network
