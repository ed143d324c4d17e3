"""How far a training setting's figures move by chance, and whether a change moves them further.

    python bench/draws.py DRAW_DIR DRAW_DIR ... [--against DIR ...] [--min-support 20]

Each DRAW_DIR is a model trained with the same settings but another ``--draw`` (its
initialisation and example order; the data and its split are the same). The table gives, per
figure, the draws' mean, standard deviation and range. Each ``--against`` model (another
setting, or the shipped model) gets a column of its own, with ``*`` where it lies outside the
draws' range. The figures are those training writes into a model directory: each label's pooled
validation ROC-AUC (``metrics.json``; labels with at least ``--min-support`` validation
positives) and the decisions at its thresholds per source (``decisions.json``): calm comments
sent to review, hostile ones caught, texts using a technique caught, and texts using none
flagged for one. Decisions resting on few texts move the most: a source's hostile comments
caught rests on as many texts as the ``n`` column says.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

# decisions.json's rates, each with the field counting the texts it rests on
RATES = (("review", "calm", "calm to review"), ("caught", "hostile", "hostile caught"),
         ("propaganda_caught", "propaganda", "technique caught"),
         ("plain_flagged", "plain", "no technique, flagged"))


def figures(model: Path, min_support: int) -> dict[str, tuple[float, int, bool]]:
    """Figure name -> (value, texts it rests on, is a rate)."""
    out: dict[str, tuple[float, int, bool]] = {}
    try:
        labels = json.loads((model / "metrics.json").read_text(encoding="utf-8"))["labels"]
        rows = json.loads((model / "decisions.json").read_text(encoding="utf-8"))["rows"]
    except (OSError, ValueError, KeyError) as exc:
        raise SystemExit(f"{model}: not a trained model directory with metrics.json and "
                         f"decisions.json ({exc}); train it, or run python -m training.thresholds "
                         "on it") from None
    for name, metric in labels.items():
        if metric.get("roc_auc") is not None and metric.get("support", 0) >= min_support:
            out[f"ROC-AUC {name}"] = (metric["roc_auc"], metric["support"], False)
    for row in rows:
        for key, count, what in RATES:
            if row.get(key) is not None:
                out[f"{row['source']}: {what}"] = (row[key], row[count], True)
    return out


def table(draws: list[Path], against: list[Path], min_support: int) -> list[str]:
    drawn = [figures(d, min_support) for d in draws]
    others = [figures(a, min_support) for a in against]
    names = [n for n in drawn[0] if all(n in f for f in drawn)]
    width = max(map(len, names))
    head = f"{'figure':{width}s} {'n':>5s}  {'mean':>6s} {'sd':>5s} {'min–max':>13s}"
    lines = [head + "".join(f" {a.name[:9]:>10s}" for a in against)]
    for name in names:
        values = [f[name][0] for f in drawn]
        rate = drawn[0][name][2]
        scale, digits = (100, 1) if rate else (1, 3)

        def show(v: float, scale: int = scale, digits: int = digits) -> str:
            return f"{v * scale:.{digits}f}"

        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        line = (f"{name:{width}s} {drawn[0][name][1]:5d}  {show(statistics.mean(values)):>6s} "
                f"{show(sd):>5s} {show(min(values)) + '–' + show(max(values)):>13s}")
        for other in others:
            if name not in other:
                line += f" {'-':>10s}"
                continue
            value = other[name][0]
            outside = value < min(values) or value > max(values)
            line += f" {show(value) + ('*' if outside else ' '):>10s}"
        lines.append(line)
    lines.append(f"{len(draws)} draws; rates in %; * outside the draws' range; n: validation "
                 "texts a figure rests on (positives for ROC-AUC)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("draws", nargs="+", type=Path, help="models trained with one setting, "
                        "each another --draw")
    parser.add_argument("--against", nargs="*", type=Path, default=[],
                        help="models to set beside the draws")
    parser.add_argument("--min-support", type=int, default=20,
                        help="leave out labels with fewer validation positives")
    args = parser.parse_args(argv)
    if len(args.draws) < 2:
        parser.error("give at least two draws: one run says nothing about chance")
    print("\n".join(table(args.draws, args.against, args.min_support)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
