"""The ``moderation`` command line. Sub-commands import what they need when they run, so
``moderation --help`` and ``moderation parse`` never load torch."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from moderation.errors import ConfigError, ModelLoadError, ModerationError
from moderation.io import Discard, atomic_output


def _error(message: str) -> None:
    print(f"moderation: {message}", file=sys.stderr)


def cmd_parse(args: argparse.Namespace) -> int:
    from moderation.parsers import expand_paths, failure_reason, parse_file

    failed = files = threads = 0
    skipped: list[str] = []
    with atomic_output(args.output) as out:
        for path in expand_paths(args.paths, skipped):
            files += 1
            written = 0
            parsed = parse_file(path, args.format)
            while True:
                # Whatever one input raises stays with it; writing is outside, so an output
                # that fails (a closed pipe, a full disk) still stops the run.
                try:
                    thread = next(parsed, None)
                    line = None if thread is None else _thread_line(thread)
                except Exception as exc:  # noqa: BLE001 - the per-input boundary
                    failed += 1
                    extra = f" (after {written} thread(s) written)" if written else ""
                    why = str(exc) if isinstance(exc, ModerationError) else \
                        f"{path}: {failure_reason(exc)}"
                    _error(f"{why}{extra}")
                    break
                if thread is None:
                    break
                out.write(line)
                written += 1
                for warning in thread.warnings:
                    print(f"{path}: warning: {warning}", file=sys.stderr)
            threads += written
        untouched = failed == files and not threads and args.output != "-"
        if untouched:
            raise Discard  # nothing could be read: an earlier output stays as it was
    print(
        f"parsed {threads} thread(s) from {files} file(s)"
        + (f"; {failed} file(s) failed" if failed else "")
        + (f"; {args.output} left as it was" if untouched else "")
        + (f"; {len(skipped)} file(s) in directories skipped as not exports "
           f"(hidden, documentation or media: {', '.join(skipped[:3])}"
           f"{', ...' if len(skipped) > 3 else ''})" if skipped else ""),
        file=sys.stderr,
    )
    return 1 if failed or not files else 0


def _thread_line(thread: Any) -> str:
    """A thread's JSONL line, checked to be UTF-8 here so a bad one fails with its input."""
    line = json.dumps(thread.to_dict(), ensure_ascii=False) + "\n"
    line.encode("utf-8")
    return line


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
        "max_per_dataset": args.max_per_dataset, "layers": args.layers, "teacher": args.teacher,
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
    from moderation.evaluate import (
        decision_rates,
        evaluate,
        evaluate_by_source,
        format_bias,
        format_decisions,
        format_table,
        identity_bias,
    )
    from moderation.modeldir import write_json

    if bool(args.data) == bool(args.recipe):
        raise ConfigError("give labelled files with --data, or --recipe NAME for a recipe's "
                          "validation split")
    scorer = _scorer(args, args.model)
    examples = _evaluation_examples(args, scorer)
    models = [scorer]
    if args.compare:
        models.append(_scorer(args, args.compare))
    saved: dict[str, object] = {"data": args.data or f"recipe {args.recipe} (validation split)",
                                "backend": scorer.backend.name}
    results = []
    for key, model in zip("ab", models):
        raw = model.raw_batch([ex.text for ex in examples])
        if args.by_source:
            per_source = evaluate_by_source(model, examples, raw)
            for source, result in per_source.items():
                print(f"\n[{source}]\n{format_table(result)}")
            saved[key] = {source: result.to_dict() for source, result in per_source.items()}
        else:
            result = evaluate(model, examples, raw)
            print(format_table(result))
            saved[key] = result.to_dict()
            results.append(result)
        # What a moderator would see at the model's thresholds, and bias over identity mentions
        decisions = decision_rates(model, examples, raw)
        bias = identity_bias(model, examples, raw)
        print(f"\n{format_decisions(decisions)}")
        if bias:
            print(f"\n{format_bias(bias)}")
        saved[f"{key}_decisions"] = {"rows": [vars(row) for row in decisions],
                                     "bias": [vars(row) for row in bias]}
    if len(results) == 2:
        print()
        print(format_table(results[0], results[1]))
    output = Path(args.output or f"evaluation-{scorer.info.name}.json")
    write_json(output, saved)
    print(f"saved to {output}", file=sys.stderr)
    return 0


def _evaluation_examples(args: argparse.Namespace, scorer: Any) -> list[Any]:
    """Labelled files through the shared loader, or a recipe's validation split rebuilt with
    the settings the model was trained with (so it is the same split)."""
    from moderation.labelled import LoadReport, infer_labels, load_mapping, load_many

    groups = scorer.info.groups
    if args.recipe:
        from training.recipes import validation_split

        examples = validation_split(Path(args.model), args.recipe, args.data_dir,
                                    lambda message: print(message, file=sys.stderr))
    else:
        report = LoadReport()
        mapping = load_mapping(args.mapping) if args.mapping else None
        examples = load_many(args.data, mapping, scorer.labels, report)
        print(f"data: {report.summary()}", file=sys.stderr)
    return [infer_labels(ex, groups) for ex in examples]


def cmd_serve(args: argparse.Namespace) -> int:
    from serve.server import run

    model = str(args.model) if args.model else None
    return run(host=args.host, port=args.port, model=model, workers=args.workers,
               backend=args.backend, precision=args.precision, threads=args.threads)


def cmd_export(args: argparse.Namespace) -> int:
    from moderation.export import cached_graph, export_graph
    from moderation.modeldir import default_model_dir, read_model_info

    info = read_model_info(args.model or default_model_dir())
    if args.out:
        path = export_graph(info, Path(args.out), args.precision, base=args.base)
    else:
        path = cached_graph(info, args.precision, base=args.base, log=_note)
    print(path)
    return 0


def _score_on_ray(args: argparse.Namespace) -> int:
    from moderation.batch import input_files
    from moderation.distributed import ScoringSpec, score_on_ray
    from moderation.modeldir import default_model_dir, read_model_info
    from moderation.policy import load_policy

    if args.output == "-" or args.summary or args.report:
        raise ConfigError("--engine ray writes sharded output: give -o DIR (no --summary or "
                          "--report; the local engine makes those)")
    if "-" in args.paths:
        raise ConfigError("--engine ray reads files, not standard input")
    model_dir = args.model or default_model_dir()
    info = read_model_info(model_dir)
    if args.policy:
        load_policy(args.policy, info, args.community)  # a bad policy fails here, not in actors
    skipped: list[str] = []
    files = input_files(args.paths, (args.output,), skipped)
    files = [f for f in files if not Path(f).resolve().is_relative_to(Path(args.output).resolve())]
    if not files:
        _error("no input files")
        return 1
    spec = ScoringSpec(
        model=str(Path(model_dir).resolve()), backend=args.backend, precision=args.precision,
        threads=args.threads, batch_size=args.batch_size, chunk=args.chunk,
        policy=str(Path(args.policy).resolve()) if args.policy else None, community=args.community,
        input_format=args.input_format, text_field=args.text_field,
        include_article=args.include_article, base=args.base, cwd=str(Path.cwd()),
    )
    totals = score_on_ray(files, Path(args.output), spec, fmt=args.format, address=args.address,
                          actors=args.actors, log=_note)
    for failure in totals["failed"]:
        _error(f"{failure['path']}: {failure['reason']}")
    print(f"scored {totals['records']} comment(s) from {totals['scored_shards']} shard(s) into "
          f"{args.output}; {totals['skipped_shards']} shard(s) already done; "
          f"{totals['skipped_comments']} comment(s) skipped; {len(totals['failed'])} shard(s) failed"
          + (f"; {len(skipped)} file(s) in directories skipped as not exports" if skipped else ""),
          file=sys.stderr)
    return 1 if totals["failed"] else 0


def _scorer(args: argparse.Namespace, model_dir: Path | str | None) -> Any:
    from moderation.scorer import Scorer

    return Scorer(model_dir, base=args.base, batch_size=args.batch_size, threads=args.threads,
                  backend=args.backend, precision=args.precision, log=_note)


def _note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _add_model_options(parser: argparse.ArgumentParser, required: bool = False) -> None:
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--model", type=Path, metavar="DIR",
                       help="model directory" + ("" if required else " (default: models/default)"))
    group.add_argument("--fast", action="store_true",
                       help="the distilled models/fast (half the layers): about twice as fast as "
                       "the default model, a little less accurate (see its model card)")


def _resolve_model_options(args: argparse.Namespace) -> None:
    """--fast names the shipped student; a backend left unset is ONNX Runtime where installed
    (the service resolves its own, from its environment settings)."""
    from moderation.backends import default_backend
    from moderation.modeldir import shipped_model_dir

    if getattr(args, "fast", False):
        args.model = shipped_model_dir("fast")
        if not (args.model / "config.json").is_file():
            raise ModelLoadError(f"no fast model at {args.model}: it ships with the source "
                                 "tree; pass --model DIR instead")
    if args.func is not cmd_serve:
        if getattr(args, "backend", "") is None:
            args.backend = default_backend()
        if getattr(args, "precision", "") is None:
            args.precision = "int8"


def _add_backend_options(parser: argparse.ArgumentParser) -> None:
    """--backend, --precision, --threads; left unset (None), the service's environment
    settings apply and every other command resolves them in ``_resolve_model_options``."""
    from moderation.backends import BACKENDS
    from moderation.export import PRECISIONS

    parser.add_argument("--backend", choices=BACKENDS,
                        help="where the model runs: onnx (ONNX Runtime, exported on first use; the "
                        "default when installed) or torch (the reference: slower, scores within "
                        "a few hundredths of onnx int8)")
    parser.add_argument("--precision", choices=PRECISIONS,
                        help="onnx backend: int8 (default) or fp32 weights")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="CPU threads for the model (default: the cores available)")


def cmd_score(args: argparse.Namespace) -> int:
    import contextlib

    from moderation.batch import Event, Failure, InputOptions, Scored, count_items, input_files
    from moderation.batch import read_inputs, score_events, scorer_batch
    from moderation.io import remove_stale_temporaries
    from moderation.labels import PROPAGANDA
    from moderation.modeldir import default_model_dir, read_model_info, write_json
    from moderation.policy import load_policy, model_policy
    from moderation.progress import Progress
    from moderation.report import HtmlReport
    from moderation.scorefile import RecordWriter, stop_between_writes
    from moderation.summary import Summary

    if args.community and not args.policy:
        raise ConfigError("--community needs --policy FILE")
    if args.chunk < 1 or (args.batch_size is not None and args.batch_size < 1):
        raise ConfigError("--chunk and --batch-size must be at least 1")
    if args.engine == "ray":
        return _score_on_ray(args)
    if args.format == "parquet":
        raise ConfigError("--format parquet is for --engine ray (sharded output)")
    if args.address or args.actors:
        raise ConfigError("--address and --actors are for --engine ray")
    model_dir = args.model or default_model_dir()
    if args.model is None and not (model_dir / "config.json").is_file():
        raise ModelLoadError(f"no model at {model_dir}: pass --model DIR or set MODERATION_MODEL")
    info = read_model_info(model_dir)  # policy errors show before the model loads
    policy = load_policy(args.policy, info, args.community) if args.policy else model_policy(info)
    skipped_files: list[str] = []
    files = input_files(args.paths, (args.output, args.summary, args.report), skipped_files)
    if not files:
        _error("no input files" + (f" ({len(skipped_files)} in directories skipped as not exports)"
                                   if skipped_files else ""))
        return 1
    scorer = _scorer(args, model_dir)
    labels = scorer.labels
    techniques = [label.name for label in info.labels
                  if label.group == PROPAGANDA and label.name != label.group]
    options = InputOptions(args.input_format, args.text_field, args.include_article)
    summary = Summary(labels, techniques)
    about = f"model {info.name} {info.version} · policy {policy.name}"
    outputs = [p for p in (args.output, args.summary, args.report) if p and p != "-"]
    produced = False  # whether any input gave a thread or comment: until one does, no output is touched

    def watch(events: Iterable[Event]) -> Iterator[Event]:
        nonlocal produced
        for event in events:
            if not produced and not isinstance(event, Failure):
                produced = True
                writer.start()
            yield event

    with contextlib.suppress(Discard), contextlib.ExitStack() as stack:
        writer = stack.enter_context(RecordWriter(args.output, args.format, labels,
                                                  resume=args.resume, chunk=args.chunk))
        resume = writer.resume
        progress = Progress(sys.stderr, sys.stderr.isatty() and not args.quiet, start=resume.kept)
        if args.resume:
            progress.message(
                f"resuming: {resume.kept} record(s) kept" + (
                    f", {resume.rescored} re-scored to align with a chunk" if resume.rescored else "")
                + (", a partial last record removed" if resume.partial else ""))
            # what a killed run was writing (report, summary): comment text left lying about
            stale = [tmp for path in outputs for tmp in remove_stale_temporaries(path)]
            if stale:
                progress.message(f"resuming: removed {len(stale)} temporary file(s) a stopped run left")
        report = None
        if args.report:
            report = HtmlReport(stack.enter_context(atomic_output(args.report)), labels, policy, about)
        stack.enter_context(stop_between_writes())
        progress.count_in_background(lambda: count_items(files, options))
        events = watch(read_inputs(files, options))
        for chunk in score_events(events, scorer_batch(scorer), policy, chunk=args.chunk,
                                  replay=resume.records, replay_count=resume.kept):
            fresh = [e.record for e in chunk if isinstance(e, Scored) and e.fresh]
            writer.append(fresh)
            for event in chunk:
                summary.add(event)
                if report is not None:
                    report.add(event)
                if isinstance(event, Failure):
                    progress.message(f"moderation: {event.path}: {event.reason}")
            progress.advance(len(fresh))
        progress.clear()
        if not produced and summary.failures:
            raise Discard  # every input failed: the outputs of an earlier run stay as they were
        writer.start()  # inputs that hold nothing still give (empty) outputs
        if report is not None:
            report.close()
    if not produced and summary.failures:
        _error(f"no input could be read ({len(summary.failures)} failed)"
               + (f"; {', '.join(outputs)} left as they were" if outputs else ""))
        return 1
    result = summary.to_dict()
    if args.summary:
        write_json(Path(args.summary), {"model": {"name": info.name, "version": info.version,
                                                  "path": str(info.path),
                                                  "backend": scorer.backend.name},
                                        "policy": policy.to_dict(), **result})
    totals = result["totals"]
    decisions = ", ".join(f"{k} {v}" for k, v in totals["decisions"].items())
    print(f"scored {totals['comments']} comment(s) in {totals['threads']} thread(s) ({decisions}); "
          f"{totals['pingbacks']} pingback(s) listed, not scored; {totals['skipped']} skipped"
          + (f"; {totals['failed_inputs']} input(s) failed" if totals["failed_inputs"] else "")
          + (f"; {len(skipped_files)} file(s) in directories skipped as not exports"
             if skipped_files else ""),
          file=sys.stderr)
    return 1 if totals["failed_inputs"] else 0


def build_parser() -> argparse.ArgumentParser:
    from moderation import __version__
    from moderation.batch import DEFAULT_CHUNK
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
    t.add_argument("--layers", type=int, metavar="N", help="a smaller student: keep N of the "
                   "base's layers (evenly spaced) and train them fully")
    t.add_argument("--teacher", metavar="DIR", help="distil this model: the student learns its "
                   "scores and evidence as well as the gold labels")
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
    _add_model_options(e, required=True)
    e.add_argument("--data", nargs="+", metavar="PATH", help="labelled files")
    e.add_argument("--recipe", help="evaluate on a recipe's validation split instead of --data")
    e.add_argument("--data-dir", metavar="DIR", help="where the recipe finds its datasets")
    e.add_argument("--by-source", action="store_true", help="one table per dataset")
    _add_backend_options(e)
    e.add_argument("--mapping", metavar="FILE", help="column mapping (JSON or TOML)")
    e.add_argument("--compare", metavar="DIR2", help="a second model, side by side")
    e.add_argument("--base", help="override the base encoder directory")
    e.add_argument("--batch-size", type=int, metavar="N",
                   help="windows per forward pass (default: 32 with torch, 8 with onnx)")
    e.add_argument("-o", "--output", metavar="FILE",
                   help="where to save the metrics as JSON (default: evaluation-MODEL.json)")
    e.set_defaults(func=cmd_evaluate)

    s = sub.add_parser(
        "serve",
        help="run the HTTP scoring service",
        description="Serve the model over HTTP (OpenAPI at /docs). Every setting can also come "
        "from a MODERATION_* environment variable (see serve/README.md); options win.",
    )
    s.add_argument("--host", help="address to listen on (default: 127.0.0.1)")
    s.add_argument("--port", type=int, help="port (default: 8000)")
    _add_model_options(s)
    s.add_argument("--workers", type=int, metavar="N", help="processes, each loading the model (default: 1)")
    _add_backend_options(s)
    s.set_defaults(func=cmd_serve)

    from moderation.export import PRECISIONS

    x = sub.add_parser(
        "export",
        help="export a model to ONNX (int8 by default) ahead of first use",
        description="Export a model directory (base and adapter merged, both heads) to ONNX and "
        "quantise it to int8. Without --out the graph goes to the cache the onnx backend reads "
        "($MODERATION_CACHE_DIR, default ~/.cache/moderation), so the first scoring run does not "
        "wait for it. Prints the graph's path.",
    )
    _add_model_options(x)
    x.add_argument("--precision", choices=PRECISIONS, default="int8", help="default: int8")
    x.add_argument("--out", metavar="FILE.onnx", help="write here instead of the cache")
    x.add_argument("--base", help="override the base encoder directory")
    x.set_defaults(func=cmd_export)
    sc = sub.add_parser(
        "score",
        help="score every comment of exports or comment lists; JSONL/CSV, summary, HTML report",
        description="Score every comment of the inputs (anything `parse` reads, or a flat JSONL/CSV "
        "list of comments with a text field) and write one record per comment, in input order. "
        "Empty comments are skipped and counted; pingbacks are listed, not scored.",
    )
    sc.add_argument("paths", nargs="+", metavar="PATH", help="files, directories or - for stdin")
    _add_model_options(sc)
    sc.add_argument("-o", "--output", default="-", metavar="OUT", help="records file (default: stdout)")
    sc.add_argument("--format", choices=("jsonl", "csv", "parquet"), default="jsonl",
                    help="output format (parquet: --engine ray only)")
    sc.add_argument("--summary", metavar="FILE", help="write a per-thread summary (JSON)")
    sc.add_argument("--report", metavar="FILE.html", help="write a self-contained HTML report")
    sc.add_argument("--policy", metavar="FILE", help="TOML review/reject thresholds per label "
                    "(default: review at the model's thresholds, never reject)")
    sc.add_argument("--community", metavar="NAME", help="use this community of the policy file")
    sc.add_argument("--resume", action="store_true", help="keep the records OUT already holds "
                    "and append the rest (use the same inputs and options)")
    sc.add_argument("--include-article", action="store_true", help="also score each article body")
    sc.add_argument("--text-field", default="text", metavar="NAME",
                    help="comment lists: the field or column holding the text (default: text)")
    sc.add_argument("--input-format", choices=format_names(),
                    help="read every input as this thread format (no detection)")
    sc.add_argument("--chunk", type=int, default=DEFAULT_CHUNK, metavar="N",
                    help=f"comments scored together and written at once (default: {DEFAULT_CHUNK})")
    sc.add_argument("--batch-size", type=int, metavar="N",
                    help="windows per forward pass (default: 32 with torch, 8 with onnx)")
    sc.add_argument("--base", help="override the base encoder directory")
    _add_backend_options(sc)
    sc.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    sc.add_argument("--engine", choices=("local", "ray"), default="local",
                    help="local (this process, default) or ray: each input file is a shard, scored "
                    "by a pool of Ray actors into -o DIR as part-NNNNN files (pip install "
                    "'moderation[distributed]')")
    sc.add_argument("--address", metavar="auto|ray://HOST:PORT",
                    help="--engine ray: join this cluster (default: start a local instance)")
    sc.add_argument("--actors", type=int, metavar="N",
                    help="--engine ray: scoring actors, each with its own model (default: CPUs / threads)")
    sc.set_defaults(func=cmd_score)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _resolve_model_options(args)
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
