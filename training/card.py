"""The model card (README.md) written beside every trained model."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from moderation.modeldir import ModelInfo

if TYPE_CHECKING:
    from moderation.evaluate import EvalReport
    from training.config import TrainingArguments


def _f(value: float | None) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def render_model_card(info: ModelInfo, args: TrainingArguments, report: EvalReport | None) -> str:
    lines = [
        f"# {info.name} {info.version}",
        "",
        "A multi-label comment classifier for the `moderation` toolkit: a sigmoid score per label "
        "and evidence spans (character offsets) for the labels marked *spans* below.",
        "",
        "## Model",
        f"- Base encoder: `{info.base_name}` (weights sha256 `{info.base_sha256}`); this directory "
        "loads on top of it and refuses any other base.",
        f"- Fine-tuning: {'LoRA ' + str(info.lora) + ' plus heads' if info.finetune == 'lora' else 'all weights'}.",
        f"- Scoring windows: {info.max_length} tokens with {info.stride} tokens overlap; a long "
        "text takes the maximum per label over its windows.",
        f"- Training: {args.epochs} epoch(s), batch {args.batch_size}, {args.max_length} tokens per "
        f"example, learning rate {args.learning_rate} (heads {args.head_learning_rate}), seed {args.seed}.",
        "",
        "## Training data",
    ]
    if info.data:
        lines += ["| dataset | licence | what it taught | examples |", "|---|---|---|---|"]
        for entry in info.data:
            lines.append(
                f"| {entry.get('name', '?')} | {entry.get('licence', 'unknown')} | "
                f"{entry.get('taught', '')} | {entry.get('examples', '')} |"
            )
        mappings = [e for e in info.data if e.get("mapping")]
        if mappings:
            lines += ["", "### Label mapping", "", "| dataset | source label | our label(s) |",
                      "|---|---|---|"]
            for entry in mappings:
                for source, target in entry["mapping"].items():
                    lines.append(f"| {entry['name']} | {source} | {target} |")
        notes = [e for e in info.data if e.get("notes")]
        for entry in notes:
            lines.append(f"\n*{entry['name']}*: {entry['notes']}")
    else:
        lines.append(f"Files: {', '.join(f'`{d}`' for d in args.data)} (licences: see the data's own terms).")
    lines += ["", "## Labels and validation metrics", ""]
    metrics = report.by_label() if report else {}
    lines += ["| label | group | threshold | known | positives | ROC-AUC | AP | F1 | ECE | span F1 |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for label in info.labels:
        m = metrics.get(label.name)
        lines.append(
            f"| {label.name}{' (spans)' if label.spans else ''} | {label.group} | {label.threshold:.3f} | "
            f"{m.known if m else 0} | {m.support if m else 0} | {_f(m.roc_auc if m else None)} | "
            f"{_f(m.average_precision if m else None)} | {_f(m.f1 if m else None)} | "
            f"{_f(m.ece if m else None)} | {_f(m.span_f1 if m else None)} |"
        )
    weak = [m.label for m in metrics.values() if not math.isnan(m.roc_auc) and m.roc_auc < 0.75]
    untested = [label.name for label in info.labels if label.name not in metrics]
    lines += [
        "",
        "## Intended use",
        "Triage of reader comments for human moderators: rank and flag comments for review, and "
        "point at the words that carry a finding. Scores are calibrated on the validation split "
        "so that a score of 0.8 means about 80% of such comments carry the label there.",
        "",
        "## Known limits",
        "- English only; trained on the sources above, whose style (tweets, news comments, memes, "
        "news articles) differs from any one site's comments: check a sample of your own.",
        "- Propaganda techniques are subtle and annotated on few examples: treat them as hints "
        "for a reviewer, not verdicts.",
    ]
    if weak:
        lines.append(f"- Weak labels (validation ROC-AUC below 0.75): {', '.join(weak)}.")
    if untested:
        lines.append(f"- Not measured (no validation labels): {', '.join(untested)}.")
    return "\n".join(lines) + "\n"


def write_model_card(info: ModelInfo, args: TrainingArguments, report: EvalReport | None) -> None:
    (info.path / "README.md").write_text(render_model_card(info, args, report), encoding="utf-8")
