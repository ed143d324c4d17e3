"""The ``moderation`` command line. Sub-commands import what they need when they run, so
``moderation --help`` and ``moderation parse`` never load torch."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from moderation.errors import ModerationError
from moderation.io import atomic_output


def _error(message: str) -> None:
    print(f"moderation: {message}", file=sys.stderr)


def cmd_parse(args: argparse.Namespace) -> int:
    from moderation.parsers import expand_paths, parse_file

    failed = files = threads = 0
    skipped: list[str] = []
    with atomic_output(args.output) as out:
        for path in expand_paths(args.paths, skipped):
            files += 1
            written = 0
            try:
                for thread in parse_file(path, args.format):
                    out.write(json.dumps(thread.to_dict(), ensure_ascii=False) + "\n")
                    written += 1
                    for warning in thread.warnings:
                        print(f"{path}: warning: {warning}", file=sys.stderr)
            except ModerationError as exc:
                failed += 1
                extra = f" (after {written} thread(s) written)" if written else ""
                _error(f"{exc}{extra}")
            threads += written
    print(
        f"parsed {threads} thread(s) from {files} file(s)"
        + (f"; {failed} file(s) failed" if failed else "")
        + (f"; {len(skipped)} file(s) in directories skipped as not exports "
           f"(hidden, documentation or media: {', '.join(skipped[:3])}"
           f"{', ...' if len(skipped) > 3 else ''})" if skipped else ""),
        file=sys.stderr,
    )
    return 1 if failed or not files else 0


def cmd_train(args: argparse.Namespace) -> int:
    from training.config import TrainingArguments
    from training.trainer import train

    overrides = {
        "data": args.data, "out": args.out, "mapping": args.mapping, "validation": args.validation,
        "base": args.base, "labels": args.labels.split(",") if args.labels else None,
        "full": args.full, "epochs": args.epochs, "max_steps": args.max_steps,
        "batch_size": args.batch_size, "max_length": args.max_length,
        "learning_rate": args.learning_rate, "resume": args.resume or None, "seed": args.seed,
        "threads": args.threads, "checkpoint_every": args.checkpoint_every,
        "recipe": args.recipe, "data_dir": args.data_dir,
        "max_per_dataset": args.max_per_dataset,
    }
    overrides = {k: v for k, v in overrides.items() if v not in (None, [])}
    config_file = args.config
    if args.recipe and not config_file:
        from training.recipes import recipe_config

        config_file = recipe_config(args.recipe)  # the recipe's own settings, if it ships them
    if config_file:
        config = TrainingArguments.from_toml(config_file, **overrides)
    else:
        config = TrainingArguments.from_dict(overrides)
    train(config)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from moderation.evaluate import evaluate, format_table
    from moderation.labelled import LoadReport, add_headlines, load_mapping, load_many
    from moderation.modeldir import write_json
    from moderation.scorer import Scorer

    scorer = Scorer(args.model, base=args.base, batch_size=args.batch_size)
    report = LoadReport()
    mapping = load_mapping(args.mapping) if args.mapping else None
    examples = load_many(args.data, mapping, scorer.labels, report)
    examples = [add_headlines(ex, scorer.info.groups) for ex in examples]
    print(f"data: {report.summary()}", file=sys.stderr)
    result = evaluate(scorer, examples)
    other = None
    if args.compare:
        other = evaluate(Scorer(args.compare, base=args.base, batch_size=args.batch_size), examples)
    print(format_table(result))
    if other is not None:
        print()
        print(format_table(other))
        print()
        print(format_table(result, other))
    if args.output:
        from pathlib import Path

        saved = {"data": args.data, "a": result.to_dict()}
        if other is not None:
            saved["b"] = other.to_dict()
        write_json(Path(args.output), saved)
        print(f"saved to {args.output}", file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from serve.server import run

    return run(host=args.host, port=args.port, model=args.model, workers=args.workers)


def build_parser() -> argparse.ArgumentParser:
    from moderation import __version__
    from moderation.parsers import format_names

    parser = argparse.ArgumentParser(
        prog="moderation",
        description="Parse comment-thread exports and score comments for hostility and "
        "propaganda techniques.",
    )
    parser.add_argument("--version", action="version", version=f"moderation {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "parse",
        help="parse exports (WXR, Disqus, HTML, Reddit, text, JSON) into thread JSONL",
        description="Parse comment-thread exports into one JSON thread per line.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, directories or - for stdin")
    p.add_argument("--format", choices=format_names(), help="skip detection and use this format")
    p.add_argument("-o", "--output", default="-", help="output file (default: stdout)")
    p.set_defaults(func=cmd_parse)

    t = sub.add_parser(
        "train",
        help="fine-tune a classifier on labelled CSV/TSV/JSONL",
        description="Fine-tune a classifier (LoRA by default) on labelled data. Settings come from "
        "--config TOML, then these options.",
    )
    t.add_argument("--data", nargs="+", metavar="PATH", help="labelled files")
    t.add_argument("--out", metavar="DIR", help="model directory to write")
    t.add_argument("--config", metavar="TOML", help="training settings file")
    t.add_argument("--recipe", help="train on a dataset recipe (e.g. 'default') instead of --data")
    t.add_argument("--data-dir", metavar="DIR", help="where recipes find the public datasets "
                   "(default: ../shared/data)")
    t.add_argument("--max-per-dataset", type=int, metavar="N",
                   help="recipes: at most N training examples per dataset")
    t.add_argument("--mapping", metavar="FILE", help="column mapping (JSON or TOML)")
    t.add_argument("--validation", nargs="+", metavar="PATH", help="validation files "
                   "(default: a stratified split of --data)")
    t.add_argument("--base", help="base encoder: installed default or a local model directory")
    t.add_argument("--labels", help="comma-separated label set (default: what the data annotates)")
    mode = t.add_mutually_exclusive_group()
    mode.add_argument("--lora", dest="full", action="store_false", default=None,
                      help="LoRA adapter plus heads (default)")
    mode.add_argument("--full", dest="full", action="store_true", help="fine-tune every weight")
    t.add_argument("--epochs", type=float)
    t.add_argument("--max-steps", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--max-length", type=int, help="tokens per training example")
    t.add_argument("--learning-rate", type=float)
    t.add_argument("--checkpoint-every", type=int, metavar="STEPS")
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")
    t.add_argument("--seed", type=int)
    t.add_argument("--threads", type=int, help="CPU threads for torch")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser(
        "evaluate",
        help="measure a model on labelled data",
        description="Per label: support, ROC-AUC, average precision, F1/precision/recall at the "
        "model's threshold, expected calibration error, and character span F1 where gold spans "
        "exist.",
    )
    e.add_argument("--model", required=True, metavar="DIR")
    e.add_argument("--data", required=True, nargs="+", metavar="PATH")
    e.add_argument("--mapping", metavar="FILE", help="column mapping (JSON or TOML)")
    e.add_argument("--compare", metavar="DIR2", help="a second model, side by side")
    e.add_argument("--base", help="override the base encoder directory")
    e.add_argument("--batch-size", type=int, default=32)
    e.add_argument("-o", "--output", metavar="FILE", help="save the metrics as JSON")
    e.set_defaults(func=cmd_evaluate)

    s = sub.add_parser(
        "serve",
        help="run the HTTP scoring service",
        description="Serve the model over HTTP (OpenAPI at /docs). Every setting can also come "
        "from a MODERATION_* environment variable (see serve/README.md); options win.",
    )
    s.add_argument("--host", help="address to listen on (default: 127.0.0.1)")
    s.add_argument("--port", type=int, help="port (default: 8000)")
    s.add_argument("--model", metavar="DIR", help="model directory (default: models/default)")
    s.add_argument("--workers", type=int, metavar="N", help="processes, each loading the model (default: 1)")
    s.set_defaults(func=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ModerationError as exc:
        _error(str(exc))
        return 2
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
