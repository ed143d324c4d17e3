"""The classifier network: a transformer encoder with a multi-label sequence head and a token
head for evidence spans. Imports torch, so only model code imports this module."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from moderation import compat
from moderation.errors import ModelLoadError
from moderation.io import atomic_path, output_mode
from moderation.modeldir import ModelInfo, base_weights_sha256, resolve_base

if TYPE_CHECKING:
    import transformers

HEADS_FILE = "heads.safetensors"
ENCODER_FILE = "encoder.safetensors"
ADAPTER_FILE = "adapter_model.safetensors"  # peft's name


class ModerationNetwork(nn.Module):
    """Encoder + two linear heads.

    The sequence head reads the mean of the token states (the pooling MiniLM sentence
    encoders are trained with) and gives one logit per label. The token head gives one logit per
    label per token: "this token is evidence for the label".
    """

    def __init__(self, encoder: compat.Encoder, num_labels: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        hidden = int(encoder.config.hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.sequence_head = nn.Linear(hidden, num_labels)
        self.token_head = nn.Linear(hidden, num_labels)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.sequence_head(self.dropout(pooled)), self.token_head(self.dropout(states))

    def head_state(self) -> dict[str, torch.Tensor]:
        return {
            f"{name}.{key}": value.detach().contiguous()
            for name in ("sequence_head", "token_head")
            for key, value in getattr(self, name).state_dict().items()
        }

    def load_head_state(self, state: dict[str, torch.Tensor]) -> None:
        for name in ("sequence_head", "token_head"):
            getattr(self, name).load_state_dict(
                {key.split(".", 1)[1]: value for key, value in state.items() if key.startswith(name + ".")}
            )


def load_encoder(base_dir: Path) -> transformers.PreTrainedModel:
    return compat.load_encoder(base_dir)


def save_network(network: ModerationNetwork, out: Path, finetune: str) -> None:
    """Write the trainable part: LoRA adapter (peft format) or the trained encoder weights, plus
    heads. Encoder weights are stored as float16, which halves the file; thresholds and
    calibration are then fitted through the saved directory, so they fit the stored weights."""
    out.mkdir(parents=True, exist_ok=True)
    if finetune == "lora":
        # peft writes its adapter by name, 0600 as safetensors makes it: it gets the mode any
        # other output gets, the umask's for a new file or the replaced file's own.
        mode = output_mode(out / ADAPTER_FILE)
        compat.save_adapter(network.encoder, out)
        (out / ADAPTER_FILE).chmod(mode)
    else:
        # Frozen weights (a student's embeddings) are the base's own and load from it.
        state = {name: p.detach().to(torch.float16).contiguous()
                 for name, p in network.encoder.named_parameters() if p.requires_grad}
        with atomic_path(out / ENCODER_FILE) as tmp:
            save_file(state, str(tmp))
    with atomic_path(out / HEADS_FILE) as tmp:
        save_file(network.head_state(), str(tmp))


def load_network(info: ModelInfo, base: str | None = None, merge: bool = True,
                 dropout: float | None = None) -> ModerationNetwork:
    """Build the network of a model directory on top of its base weights.

    Refuses a base whose weights differ from the ones the model was trained on when any weight
    comes from it (a LoRA adapter, a student's embeddings): the model would load without error
    and score nonsense. ``merge=False`` keeps a LoRA adapter apart and trainable; ``dropout``
    overrides the encoder's own (for training on).
    """
    base_dir = resolve_base(base or info.base_name)
    base_encoder = compat.load_encoder(base_dir, dropout)
    if info.layers:
        compat.select_layers(base_encoder, info.layers)
    encoder: compat.Encoder = base_encoder
    from_base = info.finetune == "lora"
    if info.finetune == "lora":
        encoder = compat.load_adapter(base_encoder, info.path, merge=merge)
    else:
        weights = info.path / ENCODER_FILE
        if not weights.is_file():
            raise ModelLoadError(f"{info.path}: {ENCODER_FILE} is missing")
        missing, unexpected = encoder.load_state_dict(load_file(str(weights)), strict=False)
        if unexpected:
            raise ModelLoadError(f"{weights}: does not fit the base architecture "
                                 f"({len(unexpected)} unknown weights, e.g. {unexpected[0]})")
        parameters = {name for name, _ in encoder.named_parameters()}
        from_base = any(name in parameters for name in missing)
    if from_base:
        digest = base_weights_sha256(base_dir)
        if digest != info.base_sha256:
            raise ModelLoadError(
                f"{info.path}: base model at {base_dir} does not match the one this model was "
                f"trained on (sha256 {digest[:12]}… != {info.base_sha256[:12]}…); install the "
                "base it was trained on or pass --base with it"
            )
    network = ModerationNetwork(encoder, len(info.labels))
    heads = info.path / HEADS_FILE
    if not heads.is_file():
        raise ModelLoadError(f"{info.path}: {HEADS_FILE} is missing")
    try:
        network.load_head_state(load_file(str(heads)))
    except RuntimeError as exc:
        raise ModelLoadError(f"{heads}: does not fit the model's labels ({exc})") from None
    network.eval()
    return network


def trainable_state(network: nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().contiguous() for n, p in network.named_parameters() if p.requires_grad}


def count_parameters(network: nn.Module) -> dict[str, Any]:
    total = sum(p.numel() for p in network.parameters())
    trainable = sum(p.numel() for p in network.parameters() if p.requires_grad)
    return {"total": total, "trainable": trainable}
