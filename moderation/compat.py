"""Every use of transformers and peft internals goes through here, so an upstream API change
is mended in one place. Nothing here ever reaches a model hub."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

# Set before transformers is imported: models load from local directories only.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

import warnings

import transformers
from torch import nn

from moderation.errors import ModelLoadError

if TYPE_CHECKING:
    import peft

# A loaded encoder: transformers' model, or peft's wrapper around one (a LoRA adapter kept apart).
Encoder: TypeAlias = "transformers.PreTrainedModel | peft.PeftModel"

transformers.logging.set_verbosity_error()
transformers.logging.disable_progress_bar()
# transformers 5 warns about its own deprecated attribute on every model load (peft reads it).
warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)

LORA_TARGETS = ("query", "key", "value", "dense")


def load_encoder(base_dir: Path, dropout: float | None = None) -> transformers.PreTrainedModel:
    """The bare encoder (no pooler, no task head) of a local Hugging Face model directory.

    ``dropout`` overrides the encoder's own hidden and attention dropout (None keeps them).
    """
    try:
        config = transformers.AutoConfig.from_pretrained(base_dir, local_files_only=True)
        if dropout is not None:
            for name in ("hidden_dropout_prob", "attention_probs_dropout_prob", "dropout",
                         "attention_dropout"):
                if hasattr(config, name):
                    setattr(config, name, dropout)
        kwargs: dict[str, Any] = {"local_files_only": True, "config": config}
        if config.model_type in ("bert", "roberta", "xlm-roberta", "electra", "camembert"):
            kwargs["add_pooling_layer"] = False
        if config.model_type == "electra":
            kwargs.pop("add_pooling_layer")
        encoder: transformers.PreTrainedModel = transformers.AutoModel.from_pretrained(base_dir,
                                                                                     **kwargs)
        return encoder
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{base_dir}: cannot load the base encoder ({exc})") from None


def load_tokenizer(base_dir: Path) -> Any:
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(base_dir, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{base_dir}: cannot load the tokenizer ({exc})") from None
    if not getattr(tokenizer, "is_fast", False):
        raise ModelLoadError(
            f"{base_dir}: a fast tokenizer (tokenizer.json) is needed for character offsets"
        )
    return tokenizer


def apply_lora(encoder: transformers.PreTrainedModel, r: int, alpha: int,
               dropout: float) -> peft.PeftModel:
    import peft

    present = {name.rsplit(".", 1)[-1] for name, _ in encoder.named_modules()}
    targets = [t for t in LORA_TARGETS if t in present]
    if not targets:
        raise ModelLoadError("the base encoder has none of the layers LoRA adapts "
                             f"({', '.join(LORA_TARGETS)}); use --full")
    config = peft.LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets)
    return peft.get_peft_model(encoder, config)


def save_adapter(encoder: Encoder, out: Path) -> None:
    # peft writes adapter_config.json and adapter_model.safetensors (and a stub card we replace).
    encoder.save_pretrained(str(out), safe_serialization=True)


def load_adapter(encoder: transformers.PreTrainedModel, model_dir: Path, merge: bool) -> Encoder:
    import peft

    if not (model_dir / "adapter_model.safetensors").is_file():
        raise ModelLoadError(f"{model_dir}: adapter_model.safetensors is missing")
    try:
        model = peft.PeftModel.from_pretrained(encoder, str(model_dir), is_trainable=not merge)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelLoadError(f"{model_dir}: cannot load the adapter ({exc})") from None
    # Merged weights score as fast as the bare encoder.
    return model.merge_and_unload() if merge else model


def layer_count(base_dir: Path) -> int:
    try:
        config = transformers.AutoConfig.from_pretrained(base_dir, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{base_dir}: cannot read the base configuration ({exc})") from None
    return int(config.num_hidden_layers)


def select_layers(encoder: transformers.PreTrainedModel, keep: Sequence[int]) -> None:
    """Keep only the given transformer layers of a loaded encoder, in the given order (a
    smaller student initialised from its teacher's layers)."""
    inner: Any = getattr(encoder, "encoder", None)  # a BERT-style encoder's own module
    stack = getattr(inner, "layer", None)
    if not isinstance(stack, nn.ModuleList):
        raise ModelLoadError(f"cannot select layers of a {type(encoder).__name__}: its layers "
                             "are not where a BERT-style encoder keeps them")
    if not keep or any(not 0 <= i < len(stack) for i in keep):
        raise ModelLoadError(f"layers {list(keep)} do not exist in a {len(stack)}-layer encoder")
    inner.layer = nn.ModuleList(stack[i] for i in keep)
    encoder.config.num_hidden_layers = len(keep)
    for position, layer in enumerate(inner.layer):
        # transformers 5 numbers layers for its attention caches
        attention = getattr(getattr(layer, "attention", None), "self", None)
        if attention is not None and hasattr(attention, "layer_idx"):
            attention.layer_idx = position


def freeze_embeddings(encoder: Encoder) -> None:
    """Stop training the token, position and type embeddings (and their LayerNorm)."""
    for parameter in encoder.get_input_embeddings().parameters():
        parameter.requires_grad = False
    embeddings = getattr(encoder, "embeddings", None)
    for parameter in (embeddings.parameters() if embeddings is not None else ()):
        parameter.requires_grad = False


def use_eager_attention(encoder: Encoder) -> None:
    """Switch a loaded encoder to the plain attention implementation (for ONNX export)."""
    if hasattr(encoder, "set_attn_implementation"):
        encoder.set_attn_implementation("eager")
    else:  # transformers 4
        encoder.config._attn_implementation = "eager"  # noqa: SLF001 - no public setter there


def linear_warmup_decay(optimizer: Any, warmup: int, plateau: int, decay: int,
                        position: int) -> Any:
    """transformers' warmup-stable-decay schedule, linear both ways, whose count starts at
    ``position`` (its ``last_epoch``: the construction steps it once more)."""
    for group in optimizer.param_groups:
        # torch asks for the base rates when a schedule does not start from its beginning
        group.setdefault("initial_lr", group["lr"])
    return transformers.get_wsd_schedule(
        optimizer, num_warmup_steps=warmup, num_stable_steps=plateau, num_decay_steps=decay,
        warmup_type="linear", decay_type="linear", min_lr_ratio=0.0, last_epoch=position)
