"""A site's loop, simulated: adapt the model to a site's labelled comments, fit its review
thresholds to them, and measure both models on comments neither saw.

    python bench/site.py [--model DIR] [--source unhealthy-conversations | --site FILE]
                         [--data-dir ../shared/data] [--adapt N] [--calibrate N]
                         [--precision P | --review-rate R] [--repeats K] [--max-site N]
                         [--max-per-source N]
                         [--train-config TOML] [--backend onnx|torch] [--threads N] [--seed 0]
                         [-o FILE.json]

The site is one labelled source of reader comments: by default Unhealthy Conversations, the
only set of news-reader comments with incivility labels, taken from the model's own validation
split of it (``training.recipes.validation_split``: the rest of the source trained the model),
or any labelled file (``--site``). A source the model never trained on (trained with the
default recipe less that source, say) is a new site in full: all of it, thinned to ``--max-site``
with its label mix kept. Only the labels the site annotates with some positive
comment are kept (for Unhealthy Conversations hostility and incivility: the propaganda
negatives its recipe adds to calm comments are the recipe's, not a moderator's). The comments
are shuffled with ``--seed`` and dealt, each stratum (its rarest positive label) in proportion,
into three parts:

1. ``--adapt`` (500) to adapt the model: ``train --init`` with replay of the model's own
   training data from ``--data-dir``. This script measures on its own held-out part, so
   ``train --init`` keeps only ``--holdout-fraction`` (5%) back instead of its 20%;
2. ``--calibrate`` (300) to fit review thresholds (``moderation calibrate``) for
   ``--precision`` (default 0.2: on 121 of Unhealthy Conversations' comments the default
   model 0.2.0 reaches 0.2 for incivility under each of five seeds, 0.3 under one) or
   ``--review-rate``, once for each model;
3. the rest, to measure: per site label ROC-AUC and AP (the change with a 95% paired bootstrap
   interval), and, at the thresholds each model was calibrated to, the precision and review
   rate per label and the share of comments with any label flagged.

A few hundred comments with a few dozen positives measure a change of ROC-AUC only roughly, and
which comments land in which part moves it as much as adapting does: ``--repeats K`` runs the
whole loop K times, dealing with seeds ``--seed`` to ``--seed + K - 1``, and reports the means
(and each run's change).

A split too small for 500 + 300 + 300 (Unhealthy Conversations' holds 442 comments) is dealt
in the same proportions, 5 : 3 : 3, unless ``--adapt`` and ``--calibrate`` are given.

Forgetting: both models on the validation split of every other source of the model's recipe
(``--max-per-source`` thins each, label mix kept), ROC-AUC per source and label it annotates.

Targets, printed as pass or fail, on the means over the runs: each site label's ROC-AUC rises by
at least 0.03; no label of another source drops by more than 0.01 (judged where the source has
at least 20 of its positives; the others are listed); the precision each calibrated label
reaches on the held-out part is within 0.05 of the target (with ``--review-rate``: the share of
comments sent to review is within 0.05 of it). The tables are Markdown; ``-o FILE.json`` saves
them, with every run's figures. Every
intermediate file (the model's snapshot, the site's parts, the adapted model and its ONNX
graph) lives in a temporary directory, removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from moderation.backends import BACKENDS, default_backend  # noqa: E402
from moderation.calibrate import (  # noqa: E402
    MIN_POSITIVES,
    Calibration,
    PrecisionTarget,
    ReviewRateTarget,
    Target,
    calibrate,
    sample_labels,
)
from moderation.errors import ConfigError, DataError, ModerationError  # noqa: E402
from moderation.io import atomic_output  # noqa: E402
from moderation.labelled import Example, LoadReport, load_many  # noqa: E402
from moderation.metrics import average_precision, roc_auc  # noqa: E402
from moderation.modeldir import ModelInfo, default_model_dir, read_model_info  # noqa: E402
from moderation.policy import model_policy  # noqa: E402

SOURCE = "unhealthy-conversations"
ADAPT, CALIBRATE = 500, 300
PRECISION = 0.2
HOLDOUT = 0.05
# The targets.
AUC_RISE = 0.03
MAX_DROP = 0.01
TOLERANCE = 0.05
RESAMPLES = 1000

Log = Callable[[str], None]


def note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the site's comments ----------------------------------------------------------------------


def site_examples(args: argparse.Namespace, model: Path, info: ModelInfo, log: Log
                  ) -> tuple[str, list[Example]]:
    """The site's name and its labelled comments (the model's labels only)."""
    if args.site:
        report = LoadReport()
        examples = load_many([str(p) for p in args.site], None, info.label_names, report)
        log(f"site: {report.summary()}")
        return Path(args.site[0]).stem, examples
    from training.recipes import select, thin, validation_split

    recipes = select(args.source)
    if len(recipes) != 1 or not recipes[0].folder:
        raise ConfigError(f"--source names one dataset of the data directory, not {args.source!r}")
    [recipe] = recipes
    if recipe.name in {entry.get("name") for entry in info.data}:
        examples = validation_split(model, recipe.name, args.data_dir, lambda m: log(f"site: {m}"))
        return recipe.name, [ex for ex in examples if ex.source == recipe.name]
    # A source the model never trained on is a new site in full, as a site is to the shipped model.
    folder = Path(args.data_dir) / recipe.name
    if not folder.is_dir():
        raise DataError(f"{folder}: not found; point --data-dir at the datasets")
    report = LoadReport()
    examples = recipe.load(folder, report)
    log(f"site: {recipe.name} is none of {info.name}'s training sources: all of it, "
        f"{report.summary()}")
    if args.max_site is not None and len(examples) > args.max_site:
        examples = thin(examples, args.max_site, random.Random(f"{args.seed}/site"))
        log(f"site: thinned to {len(examples)} comments, the label mix kept (--max-site)")
    return recipe.name, examples


def site_labels(examples: Sequence[Example], info: ModelInfo, asked: Sequence[str] | None) -> list[str]:
    """The labels the site annotates with at least one positive and one negative comment, in the
    model's order (or those asked for)."""
    if asked:
        unknown = [name for name in asked if name not in info.label_names]
        if unknown:
            raise ConfigError(f"--labels: {', '.join(unknown)} not among the model's labels "
                              f"({', '.join(info.label_names)})")
        return [name for name in info.label_names if name in asked]
    labels = [name for name in info.label_names
              if any(ex.labels.get(name, 0.0) >= 0.5 for ex in examples)
              and any(ex.labels.get(name, 1.0) < 0.5 for ex in examples)]
    if not labels:
        raise DataError("the site's comments show none of the model's labels (no label has both "
                        "a positive and a negative comment); name them with --labels")
    return labels


def keep_labels(examples: Sequence[Example], labels: Sequence[str]) -> list[Example]:
    """The examples with only ``labels`` known, and those without any of them left out."""
    kept = []
    for ex in examples:
        own = {name: value for name, value in ex.labels.items() if name in labels}
        if own:
            kept.append(replace(ex, labels=own, spans=tuple(s for s in ex.spans if s.label in labels),
                                span_labels=frozenset(ex.span_labels & set(labels))))
    return kept


def part_sizes(n: int, adapt: int | None, calibrate: int | None) -> tuple[int, int, int]:
    """Comments to adapt on, to calibrate on and to measure on."""
    if adapt is None and calibrate is None and n < ADAPT + 2 * CALIBRATE:
        a = round(n * ADAPT / (ADAPT + 2 * CALIBRATE))
        c = round(n * CALIBRATE / (ADAPT + 2 * CALIBRATE))
    else:
        a = ADAPT if adapt is None else adapt
        c = CALIBRATE if calibrate is None else calibrate
    if a < 1 or c < 1 or a + c >= n:
        raise ConfigError(f"the site has {n} comments: --adapt {a} and --calibrate {c} leave "
                          f"{n - a - c} to measure on; ask for fewer")
    return a, c, n - a - c


def deal(examples: Sequence[Example], sizes: Sequence[int], seed: int) -> list[list[Example]]:
    """The examples shuffled with ``seed`` and dealt into parts of ``sizes``, every stratum (the
    rarest positive label, as ``stratified_split`` groups them) in proportion: a few dozen
    positives shuffled at random land unevenly in parts of a few hundred comments."""
    counts: dict[str, int] = {}
    for ex in examples:
        for name, value in ex.labels.items():
            if value >= 0.5:
                counts[name] = counts.get(name, 0) + 1

    def stratum(ex: Example) -> str:
        positives = [name for name, value in ex.labels.items() if value >= 0.5]
        return min(positives, key=lambda n: (counts[n], n)) if positives else ""

    order = list(examples)
    random.Random(seed).shuffle(order)
    order.sort(key=stratum)  # stable: shuffled within each stratum, strata one after another
    # Each part's turns spread evenly over the sequence, so a run of one stratum is shared out
    # in proportion to the parts' sizes.
    turns = sorted(((j + 0.5) / size, k) for k, size in enumerate(sizes) for j in range(size))
    parts: list[list[Example]] = [[] for _ in sizes]
    for ex, (_, k) in zip(order, turns, strict=True):
        parts[k].append(ex)
    return parts


def write_labelled(path: Path, examples: Sequence[Example]) -> Path:
    """The examples as a labelled JSONL file (the format train, evaluate and calibrate read)."""
    with atomic_output(path) as handle:
        for ex in examples:
            row: dict[str, Any] = {"text": ex.text, **ex.labels}
            if ex.span_labels:
                row["spans"] = [{"start": s.start, "end": s.end, "label": s.label} for s in ex.spans]
                row["span_labels"] = sorted(ex.span_labels)
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


# --- scoring and measuring --------------------------------------------------------------------


@contextlib.contextmanager
def export_cache(folder: Path) -> Iterator[None]:
    """ONNX graphs exported meanwhile go to ``folder``: the adapted model is thrown away with the
    temporary directory, and its graph with it, not left in the user's cache."""
    from moderation.export import CACHE_ENV

    before = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(folder)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(CACHE_ENV, None)
        else:
            os.environ[CACHE_ENV] = before


def probabilities(scorer: Any, texts: Sequence[str]) -> tuple[list[Any], np.ndarray]:
    """The model output and calibrated scores (texts x the model's labels) of ``texts``."""
    raw = scorer.raw_batch(list(texts))
    probs = (np.stack([scorer.calibrate(r.logits) for r in raw]) if raw
             else np.zeros((0, len(scorer.labels))))
    return raw, probs


def fit_thresholds(info: ModelInfo, probs: np.ndarray, examples: Sequence[Example],
                   target: Target) -> Calibration:
    """``moderation calibrate`` on the calibration part, from the model's own thresholds."""
    known, positive = sample_labels(examples, info.label_names)
    return calibrate(probs, known, positive, model_policy(info), target)


def _number(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def paired_auc_change(y: np.ndarray, before: np.ndarray, after: np.ndarray, seed: int
                      ) -> tuple[float | None, float | None]:
    """A 95% bootstrap interval of after - before ROC-AUC, comments resampled together."""
    if y.all() or not y.any():
        return None, None
    rng = np.random.default_rng(seed)
    changes = []
    for _ in range(RESAMPLES):
        rows = rng.integers(0, len(y), len(y))
        if y[rows].all() or not y[rows].any():
            continue
        changes.append(roc_auc(y[rows], after[rows]) - roc_auc(y[rows], before[rows]))
    if not changes:
        return None, None
    low, high = np.percentile(changes, [2.5, 97.5])
    return float(low), float(high)


def site_side(info: ModelInfo, probs: np.ndarray, examples: Sequence[Example], labels: Sequence[str],
              calibration: Calibration) -> dict[str, Any]:
    """One model on the measuring part: per site label, ranking and what its calibrated threshold
    does; and the share of comments with any label flagged at the calibrated policy."""
    known, positive = sample_labels(examples, info.label_names)
    fitted = {c.label: c for c in calibration.labels}
    thresholds = np.array([fitted[name].threshold for name in info.label_names])
    flagged = probs >= thresholds
    rows: dict[str, Any] = {}
    for name in labels:
        j = info.label_names.index(name)
        mine = known[:, j]
        y, p = positive[mine, j], probs[mine, j]
        hits = flagged[mine, j]
        c = fitted[name]
        rows[name] = {
            "roc_auc": _number(roc_auc(y, p)),
            "average_precision": _number(average_precision(y, p)) if y.any() else None,
            "threshold": c.threshold,
            "calibrated": c.calibrated,
            "note": c.note,
            "calibration_precision": _number(c.precision),
            "calibration_warnings": list(c.warnings),
            "flagged": int(hits.sum()),
            "precision": float(y[hits].mean()) if hits.any() else None,
            "recall": float(hits[y].mean()) if y.any() else None,
            "review_rate": float(flagged[:, j].mean()) if len(flagged) else None,
        }
    return {"labels": rows,
            "review_rate": float(flagged.any(axis=1).mean()) if len(flagged) else None,
            "calibration_review_rate": calibration.review_rate}


def forgetting_examples(model: Path, site: str | None, data_dir: str, cap: int | None, seed: int,
                        log: Log) -> tuple[list[Example], str]:
    """The validation split of every source of the model's recipe but the site's, each thinned to
    ``cap``; empty, with the reason, when it cannot be rebuilt."""
    from training.recipes import thin, validation_split

    settings_file = model / "training_config.json"
    settings = json.loads(settings_file.read_text(encoding="utf-8")) if settings_file.is_file() else {}
    recipe = settings.get("recipe")
    if not recipe:
        return [], "not measured: the model records no recipe to rebuild its validation split from"
    if not Path(data_dir).is_dir():
        return [], f"not measured: {data_dir} not found (point --data-dir at the datasets)"
    examples = [ex for ex in validation_split(model, recipe, data_dir, lambda m: log(f"forgetting: {m}"))
                if ex.source != site]
    by_source: dict[str, list[Example]] = {}
    for ex in examples:
        by_source.setdefault(ex.source, []).append(ex)
    if cap is not None:
        by_source = {source: thin(rows, cap, random.Random(f"{seed}/{source}"))
                     for source, rows in by_source.items()}
    chosen = [ex for rows in by_source.values() for ex in rows]
    if not chosen:
        return [], f"not measured: recipe {recipe!r} has no validation source besides the site"
    capped = f", at most {cap} per source" if cap is not None else ""
    return chosen, (f"recipe {recipe!r}: {len(chosen)} validation texts of {len(by_source)} "
                    f"other source(s){capped}")


def forgetting_rows(before: Any, after: Any, examples: Sequence[Example],
                    raw_before: Sequence[Any], raw_after: Sequence[Any]) -> list[dict[str, Any]]:
    """Per source and label it annotates (with both classes), ROC-AUC before and after."""
    from moderation.evaluate import evaluate_by_source

    then = evaluate_by_source(before, examples, raw_before)
    now = evaluate_by_source(after, examples, raw_after)
    rows = []
    for source, report in then.items():
        later = now[source].by_label()
        for m in report.labels:
            if math.isnan(m.roc_auc):
                continue
            a = later[m.label].roc_auc
            rows.append({"source": source, "label": m.label, "known": m.known, "positives": m.support,
                         "before": m.roc_auc, "after": a, "change": a - m.roc_auc})
    return rows


# --- the run ----------------------------------------------------------------------------------


def run(args: argparse.Namespace, log: Log = note) -> dict[str, Any]:
    """The whole simulation, ``--repeats`` times; the result, as ``-o`` saves it."""
    from moderation.scorer import Scorer

    target: Target = (ReviewRateTarget(args.review_rate) if args.review_rate is not None
                      else PrecisionTarget(args.precision))
    backend = args.backend or default_backend()
    clock = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="site-bench-") as tmp:
        root = Path(tmp)
        # A snapshot, so that a model replaced while this runs does not mix two versions.
        model = root / "model" / Path(args.model).resolve().name
        shutil.copytree(args.model, model)
        info = read_model_info(model)
        site, examples = site_examples(args, model, info, log)
        labels = site_labels(examples, info, args.labels)
        examples = keep_labels(examples, labels)
        sizes = part_sizes(len(examples), args.adapt, args.calibrate)
        log(f"site {site}: {len(examples)} comments, labels {', '.join(labels)}: {sizes[0]} to "
            f"adapt on, {sizes[1]} to calibrate on, {sizes[2]} to measure on")
        # The start model's graph is the user's cached one (the snapshot has the same content).
        before = Scorer(model, backend=backend, threads=args.threads, log=log)
        # A labelled file is no source of the recipe: every source is "elsewhere" then.
        forget, about = forgetting_examples(model, None if args.site else site, args.data_dir,
                                            args.max_per_source, args.seed, log)
        if forget:
            log(f"forgetting: {about}; scoring them with the model")
        forget_before = before.raw_batch([ex.text for ex in forget])
        runs = []
        for repeat in range(args.repeats):
            seed = args.seed + repeat
            runs.append(one_run(args, seed, root / f"run-{seed}", model, info, site, examples, labels,
                                sizes, target, backend, before, forget, forget_before, log))
    summary = summarise(runs, target)
    return {
        "model": {"path": str(args.model), "name": info.name, "version": info.version},
        "site": {"source": site, "labels": labels, "comments": len(examples), "adapt": sizes[0],
                 "calibrate": sizes[1], "evaluate": sizes[2], "seed": args.seed,
                 "repeats": args.repeats, "holdout_fraction": args.holdout_fraction},
        "target": ({"review_rate": target.rate} if isinstance(target, ReviewRateTarget)
                   else {"precision": target.precision}),
        "backend": backend,
        "threads": args.threads,
        "forgetting": {"about": about, "max_per_source": args.max_per_source},
        "runs": runs,
        "summary": summary,
        "targets": targets(summary, target),
        "seconds": round(time.perf_counter() - clock, 1),
        "cpu": cpu_model(),
    }


def one_run(args: argparse.Namespace, seed: int, root: Path, model: Path, info: ModelInfo, site: str,
            examples: Sequence[Example], labels: Sequence[str], sizes: Sequence[int], target: Target,
            backend: str, before: Any, forget: Sequence[Example], forget_before: Sequence[Any], log: Log
            ) -> dict[str, Any]:
    """Deal the site's comments with ``seed``, adapt, calibrate both models and measure them."""
    from moderation.scorer import Scorer
    from training.config import TrainingArguments
    from training.trainer import train

    seconds: dict[str, float] = {}
    adapt_part, calibration_part, held_out = deal(examples, sizes, seed)
    root.mkdir()
    adapt_file = write_labelled(root / "adapt.jsonl", adapt_part)
    log(f"run with seed {seed}: adapting on {len(adapt_part)} comments")
    start = time.perf_counter()
    settings: dict[str, Any] = dict(
        init=str(model), data=[str(adapt_file)], out=str(root / "adapted"), data_dir=args.data_dir,
        holdout_fraction=args.holdout_fraction, threads=args.threads, name=f"{info.name}-{site}",
        version=info.version)
    training = (TrainingArguments.from_toml(args.train_config, **settings) if args.train_config
                else TrainingArguments(**settings))
    adapted = train(training, log=lambda m: log(f"adapt: {m}"))
    seconds["adapt"] = time.perf_counter() - start

    start = time.perf_counter()
    # The adapted model's graph goes to the temporary directory, not the user's cache.
    with export_cache(root / "onnx-cache"):
        after = Scorer(adapted, backend=backend, threads=args.threads, log=log)
    texts = [ex.text for ex in (*calibration_part, *held_out)]
    held_probs, sides = {}, {}
    for side, scorer in (("before", before), ("after", after)):
        _, probs = probabilities(scorer, texts)
        fitted = fit_thresholds(info, probs[:len(calibration_part)], calibration_part, target)
        held_probs[side] = probs[len(calibration_part):]
        sides[side] = site_side(info, held_probs[side], held_out, labels, fitted)
    headline: dict[str, Any] = {}
    known, positive = sample_labels(held_out, info.label_names)
    for name in labels:
        j = info.label_names.index(name)
        mine = known[:, j]
        low, high = paired_auc_change(positive[mine, j], held_probs["before"][mine, j],
                                      held_probs["after"][mine, j], seed)
        b, a = sides["before"]["labels"][name], sides["after"]["labels"][name]
        change = (a["roc_auc"] - b["roc_auc"]) if None not in (a["roc_auc"], b["roc_auc"]) else None
        headline[name] = {"known": int(mine.sum()), "positives": int(positive[mine, j].sum()),
                          "before": b, "after": a, "roc_auc_change": change,
                          "roc_auc_change_ci": [low, high]}
    seconds["calibrate and measure"] = time.perf_counter() - start

    start = time.perf_counter()
    forgetting: list[dict[str, Any]] = []
    if forget:
        log(f"forgetting: scoring {len(forget)} texts with the adapted model")
        forget_after = after.raw_batch([ex.text for ex in forget])
        forgetting = forgetting_rows(before, after, forget, forget_before, forget_after)
    seconds["forgetting"] = time.perf_counter() - start
    del after
    shutil.rmtree(root)  # the adapted model and its graph: 30 MB a run
    return {"seed": seed, "headline": headline,
            "review_rate": {side: sides[side]["review_rate"] for side in sides},
            "forgetting": forgetting, "seconds": {k: round(v, 1) for k, v in seconds.items()}}


# --- over the runs ----------------------------------------------------------------------------


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def summarise(runs: Sequence[dict[str, Any]], target: Target) -> dict[str, Any]:
    """Means over the runs (a run's own figures when there is one), with each run's value where
    the spread matters."""
    headline: dict[str, Any] = {}
    for name in runs[0]["headline"]:
        rows = [r["headline"][name] for r in runs]
        changes = [row["roc_auc_change"] for row in rows]
        sides: dict[str, Any] = {}
        for side in ("before", "after"):
            got = [row[side] for row in rows]
            fitted = [g for g in got if g["calibrated"]]
            precisions = [g["precision"] for g in fitted]
            sides[side] = {
                "roc_auc": _mean([g["roc_auc"] for g in got]),
                "average_precision": _mean([g["average_precision"] for g in got]),
                "calibrated_runs": len(fitted),
                "kept_because": [g["note"] for g in got if not g["calibrated"]],
                "threshold": _mean([g["threshold"] for g in fitted]),
                "calibration_precision": _mean([g["calibration_precision"] for g in fitted]),
                "precision": _mean(precisions),
                "precision_runs": precisions,
                "recall": _mean([g["recall"] for g in fitted]),
                "review_rate": _mean([g["review_rate"] for g in got]),
            }
            if isinstance(target, PrecisionTarget):
                sides[side]["within_tolerance"] = sum(
                    p is not None and abs(p - target.precision) <= TOLERANCE for p in precisions)
        headline[name] = {"positives": [row["positives"] for row in rows], **sides,
                          "roc_auc_change": _mean(changes), "roc_auc_change_runs": changes,
                          "roc_auc_change_ci": rows[0]["roc_auc_change_ci"] if len(rows) == 1 else None}
    forgetting = []
    for i, row in enumerate(runs[0]["forgetting"]):
        changes = [r["forgetting"][i]["change"] for r in runs]
        forgetting.append({**{k: row[k] for k in ("source", "label", "known", "positives", "before")},
                           "after": float(np.mean([r["forgetting"][i]["after"] for r in runs])),
                           "change": float(np.mean(changes)), "worst_change": min(changes)})
    return {"runs": len(runs), "headline": headline, "forgetting": forgetting,
            "review_rate": {side: _mean([r["review_rate"][side] for r in runs]) for side in ("before", "after")}}


def targets(summary: dict[str, Any], target: Target) -> dict[str, Any]:
    """Each target on the means over the runs: pass (True), fail (False) or not measurable
    (None), and what decided it."""
    rises = {name: row["roc_auc_change"] for name, row in summary["headline"].items()}
    measured = [v for v in rises.values() if v is not None]

    # A label with a handful of positives moves by more than 0.01 with any change of weights (on
    # 76 texts with 5 positives, one comment's rank moves ROC-AUC by 0.003): it is listed, and
    # judged only from MIN_POSITIVES positives, the number below which calibrate distrusts one.
    judged = [r for r in summary["forgetting"] if r["positives"] >= MIN_POSITIVES]
    worst = min(judged, key=lambda r: r["change"]) if judged else None

    checks: list[dict[str, Any]] = []
    for name, row in summary["headline"].items():
        for side in ("before", "after"):
            if isinstance(target, PrecisionTarget) and row[side]["calibrated_runs"]:
                p = row[side]["precision"]
                checks.append({"label": name, "model": side, "measured": p,
                               "pass": p is not None and abs(p - target.precision) <= TOLERANCE})
    if isinstance(target, ReviewRateTarget):
        for side, rate in summary["review_rate"].items():
            checks.append({"label": "any label", "model": side, "measured": rate,
                           "pass": rate is not None and abs(rate - target.rate) <= TOLERANCE})
    what = "precision" if isinstance(target, PrecisionTarget) else "review rate"
    return {
        "site_roc_auc": {"pass": all(v >= AUC_RISE for v in measured) if measured else None,
                         "rule": f"each site label's ROC-AUC rises by >= {AUC_RISE}", "changes": rises},
        "forgetting": {"pass": worst["change"] >= -MAX_DROP if worst else None,
                       "rule": f"no other source's label (with >= {MIN_POSITIVES} positives) drops "
                               f"by more than {MAX_DROP}",
                       "worst": worst, "judged": len(judged),
                       "not_judged": len(summary["forgetting"]) - len(judged)},
        "calibration": {"pass": all(c["pass"] for c in checks) if checks else None,
                        "rule": f"held-out {what} within {TOLERANCE} of the target", "checks": checks},
    }


def cpu_model() -> str | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return None


# --- the tables -------------------------------------------------------------------------------


def _f(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _signed(value: float | None) -> str:
    return "–" if value is None else f"{value:+.3f}"


def _verdict(value: bool | None) -> str:
    return {True: "PASS", False: "FAIL", None: "not measured"}[value]


def _spread(values: Sequence[Any]) -> str:
    present = [v for v in values if v is not None]
    if not present:
        return "–"
    low, high = min(present), max(present)
    return str(low) if low == high else f"{low}–{high}"


def format_tables(result: dict[str, Any]) -> str:
    site, target, summary = result["site"], result["target"], result["summary"]
    n = summary["runs"]
    wanted = (f"precision {target['precision']:g}" if "precision" in target
              else f"a review rate of {target['review_rate']:.1%}")
    runs = (f"one run, seed {site['seed']}" if n == 1
            else f"{n} runs, seeds {site['seed']} to {site['seed'] + n - 1}: means over the runs")
    lines = [f"model: {result['model']['name']} {result['model']['version']} ({result['model']['path']}), "
             f"{result['backend']} backend; site: {site['source']}, {site['comments']} comments dealt "
             f"{site['adapt']} to adapt on, {site['calibrate']} to calibrate on (for {wanted}) and "
             f"{site['evaluate']} to measure on; {runs}", ""]
    interval = "change [95%]" if n == 1 else "change (each run)"
    lines += [f"| label | positives | ROC-AUC before | after | {interval} | AP before | after |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for name, row in summary["headline"].items():
        if n == 1:
            low, high = row["roc_auc_change_ci"]
            detail = f" [{_signed(low)}, {_signed(high)}]" if low is not None else ""
        else:
            detail = " (" + ", ".join(_signed(c) for c in row["roc_auc_change_runs"]) + ")"
        lines.append(f"| {name} | {_spread(row['positives'])} | {_f(row['before']['roc_auc'])} "
                     f"| {_f(row['after']['roc_auc'])} | {_signed(row['roc_auc_change'])}{detail} "
                     f"| {_f(row['before']['average_precision'])} | {_f(row['after']['average_precision'])} |")
    lines += ["", "At the thresholds calibrated on the calibration part (the runs where the label "
              "was calibrated; review rate: every run, the label kept at the model's threshold "
              "where it was not):", "",
              "| label | model | calibrated (runs) | threshold | precision, calibration part "
              "| precision, held out | recall | review rate |",
              "|---|---|---:|---:|---:|---:|---:|---:|"]
    kept: list[str] = []
    for name, row in summary["headline"].items():
        for side in ("before", "after"):
            s = row[side]
            held = _f(s["precision"])
            if "within_tolerance" in s and s["calibrated_runs"]:
                held += f" ({s['within_tolerance']} of {s['calibrated_runs']} within {TOLERANCE})"
            lines.append(f"| {name} | {side} | {s['calibrated_runs']} of {n} | {_f(s['threshold'], 4)} "
                         f"| {_f(s['calibration_precision'])} | {held} | {_f(s['recall'])} "
                         f"| {_pct(s['review_rate'])} |")
            if s["kept_because"]:
                kept.append(f"- {name}, {side}, {len(s['kept_because'])} run(s): {s['kept_because'][0]}")
    if kept:
        lines += ["", "Not calibrated (the first run's reason):", *kept]
    rates = summary["review_rate"]
    lines += ["", f"Any label flagged on the held-out part (the site's labels at their calibrated "
              f"thresholds, the others at the model's): before {_pct(rates['before'])}, "
              f"after {_pct(rates['after'])}.", "", f"Forgetting: {result['forgetting']['about']}"]
    if summary["forgetting"]:
        worst = " | worst run" if n > 1 else ""
        lines += ["", f"| source | label | known | positives | ROC-AUC before | after | change{worst} |",
                  "|---|---|---:|---:|---:|---:|---:|" + ("---:|" if n > 1 else "")]
        for r in summary["forgetting"]:
            few = " (not judged)" if r["positives"] < MIN_POSITIVES else ""
            lines.append(f"| {r['source']} | {r['label']}{few} | {r['known']} | {r['positives']} "
                         f"| {r['before']:.3f} | {r['after']:.3f} | {r['change']:+.3f} |"
                         + (f" {r['worst_change']:+.3f} |" if n > 1 else ""))
    t = result["targets"]
    worst_row = t["forgetting"]["worst"]
    lines += ["", "| target | result | measured |", "|---|---|---|",
              f"| {t['site_roc_auc']['rule']} | {_verdict(t['site_roc_auc']['pass'])} | "
              + ", ".join(f"{name} {_signed(v)}" for name, v in t["site_roc_auc"]["changes"].items()) + " |",
              f"| {t['forgetting']['rule']} | {_verdict(t['forgetting']['pass'])} | "
              + (f"largest drop {worst_row['change']:+.3f} ({worst_row['source']}, {worst_row['label']}) "
                 f"of {t['forgetting']['judged']} judged; {t['forgetting']['not_judged']} not judged"
                 if worst_row else "–") + " |",
              f"| {t['calibration']['rule']} | {_verdict(t['calibration']['pass'])} | "
              + (", ".join(f"{c['label']} {c['model']} {_f(c['measured'])}" for c in t["calibration"]["checks"])
                 or "no label calibrated") + " |"]
    timing = "; ".join(f"seed {r['seed']}: " + ", ".join(f"{k} {v:.0f}" for k, v in r["seconds"].items())
                       for r in result["runs"])
    lines += ["", f"seconds: {result['seconds']:.0f} in all ({timing})"
              + (f"; CPU: {result['cpu']}" if result["cpu"] else "")]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=default_model_dir(), help="the model to adapt")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--source", default=SOURCE,
                       help="the recipe source that is the site: its validation split, or all of it "
                       f"when the model never trained on it (default: {SOURCE})")
    where.add_argument("--site", type=Path, nargs="+", metavar="FILE",
                       help="a labelled file (CSV, TSV or JSONL) as the site instead")
    parser.add_argument("--labels", nargs="+", metavar="NAME",
                        help="the site's labels (default: those it annotates with a positive)")
    parser.add_argument("--data-dir", default="../shared/data",
                        help="the datasets: the site's source, replay, and forgetting")
    parser.add_argument("--adapt", type=int, help=f"comments to adapt on (default: {ADAPT})")
    parser.add_argument("--calibrate", type=int, help=f"comments to calibrate on (default: {CALIBRATE})")
    aim = parser.add_mutually_exclusive_group()
    aim.add_argument("--precision", type=float, default=PRECISION,
                     help=f"the calibration target (default: {PRECISION})")
    aim.add_argument("--review-rate", type=float, help="calibrate for this review rate instead")
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs, each dealing the comments with the next seed (default: 1)")
    parser.add_argument("--holdout-fraction", type=float, default=HOLDOUT,
                        help=f"share train --init holds out of the adapt part (default: {HOLDOUT})")
    parser.add_argument("--train-config", type=Path, metavar="TOML",
                        help="training settings for train --init (as its --config reads them)")
    parser.add_argument("--max-site", type=int, metavar="N",
                        help="a source the model never trained on: at most this many of its comments")
    parser.add_argument("--max-per-source", type=int, metavar="N",
                        help="forgetting: at most this many validation texts per source")
    parser.add_argument("--backend", choices=BACKENDS, help="where the models score (default: as "
                        "`moderation score`: onnx int8 where installed)")
    parser.add_argument("--threads", type=int, help="CPU threads for training and scoring")
    parser.add_argument("--seed", type=int, default=0, help="the first run's seed (default: 0)")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE.json", help="save the tables as JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for name in ("max_per_source", "max_site", "repeats"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            sys.exit(f"site.py: --{name.replace('_', '-')} must be at least 1")
    if not 0 < (args.precision if args.review_rate is None else args.review_rate) < 1:
        sys.exit("site.py: --precision and --review-rate take a share between 0 and 1")
    try:
        result = run(args)
    except ModerationError as exc:
        sys.exit(f"site.py: {exc}")
    print(format_tables(result))
    if args.output:
        with atomic_output(args.output) as handle:
            handle.write(json.dumps(result, indent=2) + "\n")
        note(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
