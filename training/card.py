"""The model card (README.md) of a model directory, rendered from the directory's own files.

``python -m training.card DIR`` re-renders it, e.g. after ``moderation evaluate --by-source
-o DIR/evaluation.json`` or a peer comparison (``DIR/peers.json``, from ``bench/peers.py``)
added measurements.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from moderation.io import atomic_output
from moderation.modeldir import ModelInfo, read_model_info
from training.thresholds import CALM_BUDGET

EVALUATION_FILE = "evaluation.json"
PEERS_FILE = "peers.json"
DECISIONS_FILE = "decisions.json"  # written by training.thresholds
FUNCTIONAL_FILE = "functional.json"  # written by bench/functional.py
# The previous version's figures on the same validation and suite, for before/after columns:
# {"version", "metrics": metrics.json's form, "decisions": decisions.json's, "functional": ...}
PREVIOUS_FILE = "previous.json"


def _f(value: float | None) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def _evidence_thresholds(info: ModelInfo) -> str:
    by_value: dict[float, list[str]] = {}
    for label in info.labels:
        if label.spans:
            by_value.setdefault(label.span_threshold, []).append(label.name)
    return "; ".join(f"{value:g}: {', '.join(names)}" for value, names in sorted(by_value.items()))


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _metrics_table(labels: dict[str, dict[str, Any]], info: ModelInfo, only_known: bool,
                   before: dict[str, dict[str, Any]] | None = None, version: str = "") -> list[str]:
    was = f" ({version})" if version else ""
    extra = f" ROC-AUC{was} | AP{was} |" if before else ""
    rows = [f"| label | threshold | examples | positives | ROC-AUC | AP | F1 | ECE | span F1 |{extra}",
            "|---|---|---|---|---|---|---|---|---|" + ("---|---|" if before else "")]
    marked = False
    for label in info.labels:
        m = labels.get(label.name)
        if m is None and only_known:
            continue
        m = m or {}
        row = (
            f"| {label.name}{' (spans)' if label.spans else ''} | {label.threshold:.3f} | "
            f"{m.get('known', 0)} | {m.get('support', 0)} | {_f(m.get('roc_auc'))} | "
            f"{_f(m.get('average_precision'))} | {_f(m.get('f1'))} | {_f(m.get('ece'))} | "
            f"{_f(m.get('span_f1'))} |"
        )
        if before is not None:
            b = before.get(label.name) or {}
            # Figures measured on another set of this label's texts are marked, not compared.
            other = "*" if b and b.get("known") != m.get("known") else ""
            marked = marked or bool(other)
            row += f" {_f(b.get('roc_auc'))}{other} | {_f(b.get('average_precision'))}{other} |"
        rows.append(row)
    if marked:
        rows += ["", f"\\*: {version or 'the previous version'} judged this label on another "
                 "number of validation texts, not a like-for-like comparison."]
    return rows


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _decisions_table(rows: list[dict[str, Any]], before: list[dict[str, Any]] | None,
                     version: str) -> list[str]:
    old = {r["source"]: r for r in before or []}
    was = f" ({version})" if before else ""
    header = ("| source | calm | sent to review | propaganda flag | hostile | caught | uses a "
              "technique | caught | uses none | propaganda flag |")
    lines = [header, "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        o = old.get(r["source"], {})

        def cell(key: str, r: dict[str, Any] = r, o: dict[str, Any] = o) -> str:
            now = _pct(r.get(key))
            return f"{now} ({_pct(o.get(key))})" if before and o.get(key) is not None else now

        lines.append(f"| {r['source']} | {r['calm']} | {cell('review')} | {cell('propaganda_flagged')} | "
                     f"{r['hostile']} | {cell('caught')} | {r['propaganda']} | "
                     f"{cell('propaganda_caught')} | {r['plain']} | {cell('plain_flagged')} |")
    if was:
        lines += ["", f"In brackets: {version.strip()} at its own thresholds, on the same texts."]
    return lines


def _budgets_table(rows: list[dict[str, Any]]) -> list[str]:
    budgets = sorted({r["budget"] for r in rows})
    lines = ["| source | headline | negatives | positives | "
             + " | ".join(f"caught at {b:.0%}" for b in budgets) + " |",
             "|---|---|---|---|" + "---|" * len(budgets)]
    views: dict[tuple[str, str], dict[float, dict[str, Any]]] = {}
    for r in rows:
        views.setdefault((r["source"], r["group"]), {})[r["budget"]] = r
    for (source, group), at in views.items():
        cells = []
        for b in budgets:
            row = at.get(b)
            if row is None or row["caught"] is None:
                cells.append("– (other labels alone flag more)")
            else:
                cells.append(f"{_pct(row['caught'])} ({_pct(row['caught_low'])}–"
                             f"{_pct(row['caught_high'])}) at {row['threshold']:.3f}")
        first = next(iter(at.values()))
        lines.append(f"| {source} | {group} | {first['negatives']} | {first['positives']} | "
                     + " | ".join(cells) + " |")
    return lines


def render_model_card(model_dir: Path) -> str:
    info = read_model_info(model_dir)
    config = _read(model_dir / "training_config.json") or {}
    metrics = (_read(model_dir / "metrics.json") or {}).get("labels", {})
    evaluation = _read(model_dir / EVALUATION_FILE) or {}
    by_source = evaluation.get("a")
    peers = _read(model_dir / PEERS_FILE)
    if info.finetune == "lora":
        finetune = f"LoRA (rank {info.lora.get('r')}, alpha {info.lora.get('alpha')}) plus the heads"
    elif info.layers:
        finetune = (f"a distilled student: layers {', '.join(str(i) for i in info.layers)} of the "
                    "base (counting from 0), trained in full with the heads; the embeddings stay "
                    "the base's")
    else:
        finetune = "every layer of the base, trained in full with the heads; the embeddings stay the base's"
    teachers = config.get("teacher") or []
    teachers = [teachers] if isinstance(teachers, str) else teachers
    if len(teachers) == 1:
        finetune += (f". It learnt from the scores and evidence of the model `{teachers[0]}` "
                     f"(weight {config.get('distill_weight')}) as well as from the gold labels")
    elif teachers:
        finetune += (f". It learnt from the scores and evidence of the ensemble of "
                     f"{', '.join(f'`{t}`' for t in teachers)} (their mean logit and mean evidence, "
                     f"weight {config.get('distill_weight')}) as well as from the gold labels")
    if config.get("init"):
        finetune += (f". Adapted from the model `{config['init']}`: trained on from its weights, "
                     "keeping its thresholds with the calibration fitted again (the site data below; "
                     "`adaptation.json` compares the two on held-out site examples)")
    lines = [
        f"# {info.name} {info.version}",
        "",
        "A multi-label comment classifier for the `moderation` toolkit: a calibrated score per "
        "label and evidence spans (character offsets) for the labels marked *spans* below.",
        "",
        "## Model",
        f"- Base encoder: `{info.base_name}` (weights sha256 `{info.base_sha256}`); this directory "
        "holds only what training changed and loads on top of that base, refusing any other.",
        f"- Fine-tuning: {finetune}.",
        f"- Scoring: windows of {info.max_length} tokens overlapping by {info.stride}; a long "
        "text takes the maximum per label over its windows.",
        f"- Training: {config.get('epochs')} epoch(s), batch {config.get('batch_size')}, "
        f"{config.get('max_length')} tokens per example, learning rate "
        f"{config.get('learning_rate')} (heads {config.get('head_learning_rate')}), seed "
        f"{config.get('seed')}{', draw ' + str(config['draw']) if config.get('draw') else ''}. "
        "Scores are Platt-calibrated on validation.",
        "- Review thresholds: each label's threshold maximises F1 on a *comment stream* in which "
        "the label has the share given in the table below (validation re-weighted from its own "
        "mix to that share), not on the pooled validation sets, which were collected to be rich "
        "in hostility and would put the threshold where a real stream drowns in flags. The shares "
        "are deployment assumptions (`moderation/labels.py`); `moderation calibrate`-style site "
        "thresholds can be set with a policy file.",
        "- Evidence: a token is evidence for a label when its token-head probability reaches the "
        "label's evidence threshold, chosen on validation (`training/thresholds.py`): the one "
        "whose highlights best match the gold spans without highlighting more than the "
        f"annotators did ({_evidence_thresholds(info)}). *span F1* is SemEval-2021 Task 5's "
        "character F1 on the validation texts that show the label with gold spans, flagged or "
        "not (recall says how often it is flagged).",
        "",
        "## Training data",
    ]
    if info.data:
        lines += ["| dataset | licence | what it taught | training examples | validation |",
                  "|---|---|---|---|---|"]
        for entry in info.data:
            lines.append(f"| {entry.get('name', '?')} | {entry.get('licence', 'unknown')} | "
                         f"{entry.get('taught', '')} | {entry.get('examples', '')} | "
                         f"{entry.get('validation', '')} |")
        lines += ["", "### Label mapping", "", "| dataset | source label | our label(s) |",
                  "|---|---|---|"]
        for entry in info.data:
            for source, target in (entry.get("mapping") or {}).items():
                lines.append(f"| {entry['name']} | {source} | {target} |")
        lines += ["", "### How each dataset was sampled", ""]
        lines += [f"- **{e['name']}**: {e['notes']}" for e in info.data if e.get("notes")]
    else:
        files = ", ".join(f"`{d}`" for d in config.get("data", []))
        lines.append(f"Files: {files} (licences: see the data's own terms).")
    lines += ["", "### Label logic (every dataset)", "",
              "| when the data says | then also |", "|---|---|",
              "| any label of a group positive | the group's headline (hostility, propaganda) positive |"]
    from moderation.labels import LABELS

    implied = [label.name for label in LABELS if label.negative_with_headline]
    if implied:
        lines.append(f"| hostility negative (a calm comment) | {', '.join(implied)} negative "
                     "(incivility stays as annotated: no source's calm class judges civility) |")
    judged = [label.name for label in LABELS if label.judged_with_headline
              and not label.negative_with_headline]
    if judged:
        lines.append(f"| propaganda negative, when thresholds are chosen and the model evaluated | "
                     f"every technique negative ({len(judged)}: a text using no technique uses "
                     "none of them); training teaches it as the mapping says |")
    if config.get("identity_swaps") or config.get("obfuscated"):
        lines += ["", f"Augmented training copies (`training/augment.py`): "
                  f"{config.get('identity_swaps', 0)} with the group a text names swapped for "
                  f"another of the same kind, {config.get('obfuscated', 0)} hostile texts with "
                  "the offending word obfuscated (spaced, digits for letters, a dropped, doubled, "
                  "swapped or masked letter); labels kept."]
    previous = _read(model_dir / PREVIOUS_FILE) or {}
    version = previous.get("version", "")
    shares = {label.name: label.stream_prevalence for label in LABELS}
    lines += ["", "## Validation metrics (all validation data)", ""]
    before = (previous.get("metrics") or {}).get("labels")  # metrics.json's form
    if before:
        lines += [f"The last two columns: {version} on the same validation texts.", ""]
    lines += _metrics_table(metrics, info, only_known=False, before=before, version=version)
    lines += ["", "Stream shares behind the review thresholds: "
              + ", ".join(f"{n} {shares[n]:.1%}" for n in info.label_names if n in shares)
              + f". A label that is not its group's headline flags at most {CALM_BUDGET:.0%} of "
              "validation's calm comments on its own (`training/thresholds.py`)."]
    decisions = _read(model_dir / DECISIONS_FILE)
    if decisions:
        lines += ["", "## Decisions at the review thresholds", "",
                  "Per validation source, at the thresholds above (nothing rejected "
                  f"automatically), on the {decisions.get('backend', 'torch')} backend. *calm*: "
                  "no hostility label positive (not even incivility) and no technique; *sent to review*: any label "
                  "flagged; *caught*: a hostile text with any label flagged, or a text using a "
                  "technique with a propaganda label flagged.", ""]
        lines += _decisions_table(decisions["rows"], (previous.get("decisions") or {}).get("rows"),
                                  version)
        if decisions.get("budgets"):
            lines += ["", "### What a threshold could buy", "",
                      "Per source, the share of its hostile texts (or texts using a technique) "
                      "flagged when the headline's threshold is the lowest that sends at most the "
                      "budget of its calm texts (or texts using none) to review, the other labels "
                      "at their thresholds (`review_budgets` in `moderation/evaluate.py`). No "
                      "headline threshold does better on these texts: a site that needs more needs "
                      "a model that ranks them better. The interval (95%, Wilson) shows how "
                      "little a handful of texts settles.", "",
                      *_budgets_table(decisions["budgets"])]
        if decisions.get("bias"):
            lines += ["", "## Identity bias", "",
                      "Borkan et al. (2019) on validation texts that name a group "
                      "(`moderation/identity.py`): subgroup ROC-AUC, BPSN (calm texts naming the "
                      "group against hostile ones that do not: low when naming the group raises "
                      "the score) and BNSP. Subgroups with fewer than 10 positives or negatives "
                      "are left out.", "",
                      "| label | subgroup | texts | positives | subgroup ROC-AUC | BPSN | BNSP |",
                      "|---|---|---|---|---|---|---|"]
            old_bias = {(b["label"], b["subgroup"]): b
                        for b in (previous.get("decisions") or {}).get("bias", [])}
            for b in decisions["bias"]:
                o = old_bias.get((b["label"], b["subgroup"]), {})

                def cell(key: str, b: dict[str, Any] = b, o: dict[str, Any] = o) -> str:
                    return f"{_f(b[key])} ({_f(o[key])})" if key in o else _f(b[key])

                lines.append(f"| {b['label']} | {b['subgroup']} | {b['texts']} | {b['positives']} | "
                             f"{cell('subgroup_auc')} | {cell('bpsn')} | {cell('bnsp')} |")
            if old_bias:
                lines += ["", f"In brackets: {version} on the same texts."]
    functional = _read(model_dir / FUNCTIONAL_FILE)
    if functional:
        old = {c["name"]: c for c in (previous.get("functional") or {}).get("categories", [])}
        lines += ["", "## Functional suite", "",
                  f"`bench/functional.py`: cases written for the suite alone, decided at the "
                  f"review thresholds on the {functional.get('backend')} backend. *allow*: "
                  "correct when nothing is flagged; a group: when one of its labels is flagged; "
                  "a label: when it is flagged.", "",
                  "| category | correct when | cases | correct |" + (f" {version} |" if old else ""),
                  "|---|---|---|---|" + ("---|" if old else "")]
        for c in functional["categories"]:
            row = f"| {c['name']} | {c['expect']} | {c['cases']} | {c['correct'] / c['cases']:.0%} |"
            if old:
                o = old.get(c["name"])
                row += f" {o['correct'] / o['cases']:.0%} |" if o else " – |"
            lines.append(row)
    if by_source:
        lines += ["", "## Validation metrics per dataset", ""]
        if evaluation.get("backend"):
            lines += [f"Measured by `moderation evaluate` on the {evaluation['backend']} backend.", ""]
        for source, report in by_source.items():
            lines += [f"### {source}", "", *_metrics_table(report["labels"], info, only_known=True), ""]
    if peers:
        lines += ["", "## Against offline peers", "", peers.get("about", ""), "",
                  "| dataset | label | " + " | ".join(peers["models"]) + " |",
                  "|---|---|" + "---|" * len(peers["models"])]
        for row in peers["rows"]:
            lines.append(f"| {row['dataset']} | {row['label']} | "
                         + " | ".join(_f(row["roc_auc"].get(m)) for m in peers["models"]) + " |")
    weak = sorted(n for n, m in metrics.items() if m.get("roc_auc") is not None and m["roc_auc"] < 0.75)
    experimental = [label.name for label in info.labels if "experimental" in label.description]
    untested = [label.name for label in info.labels if label.name not in metrics]
    lines += [
        "",
        "## Intended use",
        "Triage of reader comments for human moderators: rank and flag comments for review, and "
        "point at the words that carry a finding. Not for automatic punishment without review.",
        "",
        "## Known limits",
        "- English only. The training sources (tweets, Gab posts, news-site comments, memes, news "
        "articles, written fallacy examples) differ from any one site's comments: check a sample "
        "of your own before trusting the thresholds.",
        "- Propaganda techniques are subtle and annotated on few examples: treat them as hints for "
        "a reviewer, not verdicts.",
    ]
    if weak:
        lines.append(f"- Weak labels (validation ROC-AUC below 0.75): {', '.join(weak)}.")
    if experimental:
        lines.append(f"- Experimental labels (fewer than 100 training examples): {', '.join(experimental)}.")
    if untested:
        lines.append(f"- Not measured (no validation labels): {', '.join(untested)}.")
    never = [label.name for label in info.labels if label.threshold >= 1.0]
    if never:
        lines.append(f"- Scored but never flagged by default (too weak, or measured on too few "
                     f"validation positives, to be precise at its stream share; a policy file can "
                     f"set a review threshold): {', '.join(never)}.")
    return "\n".join(lines) + "\n"


def write_model_card(model_dir: Path) -> None:
    with atomic_output(model_dir / "README.md") as out:
        out.write(render_model_card(model_dir))


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1:
        print("usage: python -m training.card MODEL_DIR", file=sys.stderr)
        return 2
    write_model_card(Path(args[0]))
    print(f"wrote {Path(args[0]) / 'README.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
