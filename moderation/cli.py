"""The ``moderation`` command line. Sub-commands import what they need when they run, so
``moderation --help`` and ``moderation parse`` never load torch."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moderation.errors import ConfigError, ModelLoadError, ModerationError
from moderation.io import Discard, atomic_output
from moderation.options import add_dataclass_options, add_deprecated, given_options, unknown_options
from moderation.scoring_config import InputOptions, ScoringConfig

if TYPE_CHECKING:
    from moderation.modeldir import ModelInfo
    from training.config import TrainingArguments

# The order ``moderation --help`` lists the commands in: the order a user meets them. A command
# left out of it is listed after these.
COMMAND_ORDER = ("parse", "score", "serve", "train", "evaluate", "calibrate", "export")


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
            parsed = parse_file(path, args.input_format)
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
                if thread is None or line is None:
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
    from training.trainer import train

    config = training_config(args)
    if not config.out:
        raise ConfigError("give the model directory to write: -o/--output DIR")
    train(config)
    return 0


def training_config(args: argparse.Namespace) -> TrainingArguments:
    """The training settings: the options given, over the settings file (``--config``, else the
    recipe's own, if it ships one), over the defaults."""
    from training.config import TrainingArguments

    given = given_options(args, TrainingArguments)
    config_file = args.config
    if given.get("recipe") and not config_file:
        from training.recipes import recipe_config

        config_file = recipe_config(given["recipe"])
    if config_file:
        return TrainingArguments.from_toml(config_file, **given)
    return TrainingArguments.from_dict(given)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from moderation.evaluate import (
        decision_rates,
        evaluate,
        evaluate_by_source,
        format_bias,
        format_budgets,
        format_decisions,
        format_table,
        identity_bias,
        review_budgets,
    )
    from moderation.modeldir import write_json

    if bool(args.data) == bool(args.recipe):
        raise ConfigError("give labelled files with --data, or --recipe NAME for a recipe's "
                          "validation split")
    config = _scoring_config(args)
    _model_info(config)
    scorer = config.load_scorer(log=_note)
    examples = _evaluation_examples(args, config, scorer)
    models = [scorer]
    if args.compare:
        models.append(config.load_scorer(args.compare, log=_note))
    saved: dict[str, object] = {"data": args.data or f"recipe {args.recipe} (validation split)",
                                "backend": scorer.backend.name, "config": config.resolved().to_dict()}
    results = []
    for key, model in zip("ab", models, strict=False):  # "b" only with --compare
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
        budgets = review_budgets(model, examples, raw)
        bias = identity_bias(model, examples, raw)
        print(f"\n{format_decisions(decisions)}")
        if budgets:
            print(f"\n{format_budgets(budgets)}")
        if bias:
            print(f"\n{format_bias(bias)}")
        saved[f"{key}_decisions"] = {"rows": [vars(row) for row in decisions],
                                     "budgets": [vars(row) for row in budgets],
                                     "bias": [vars(row) for row in bias]}
    if len(results) == 2:
        print()
        print(format_table(results[0], results[1]))
    output = Path(args.output or f"evaluation-{scorer.info.name}.json")
    write_json(output, saved)
    print(f"saved to {output}", file=sys.stderr)
    return 0


def _evaluation_examples(args: argparse.Namespace, config: ScoringConfig, scorer: Any) -> list[Any]:
    """Labelled files through the shared loader, or a recipe's validation split rebuilt with
    the settings the model was trained with (so it is the same split)."""
    from moderation.labelled import (
        LoadReport,
        infer_labels,
        load_many,
        load_mapping,
        require_labels,
    )

    groups = scorer.info.groups
    if args.recipe:
        from training.recipes import validation_split

        examples = validation_split(config.model_dir, args.recipe, args.data_dir,
                                    lambda message: print(message, file=sys.stderr))
    else:
        report = LoadReport()
        mapping = load_mapping(args.mapping) if args.mapping else None
        examples = load_many(args.data, mapping, scorer.labels, report)
        print(f"data: {report.summary()}", file=sys.stderr)
        require_labels(examples, args.data, scorer.labels, report)
    return [infer_labels(ex, groups, judging=True) for ex in examples]


def cmd_calibrate(args: argparse.Namespace) -> int:
    from moderation.calibrate import (
        PrecisionTarget,
        ReviewRateTarget,
        calibrate,
        format_report,
        read_policy_data,
        sample_labels,
        score_examples,
        updated_policy_data,
        write_policy,
    )
    from moderation.labelled import (
        LoadReport,
        infer_labels,
        load_many,
        load_mapping,
        require_labels,
    )

    if args.per_label and args.review_rate is None:
        raise ConfigError("--per-label goes with --review-rate")
    config = _scoring_config(args)
    info = _model_info(config)
    output = Path(args.output)
    # Everything that can be wrong is found before the model loads.
    data, current = read_policy_data(output, info, args.target_community)
    report = LoadReport()
    mapping = load_mapping(args.mapping) if args.mapping else None
    # A comment the sample calls calm is judged calm for the labels that follow from that.
    loaded = load_many(args.data, mapping, info.label_names, report)
    print(f"data: {report.summary()}", file=sys.stderr)
    require_labels(loaded, args.data, info.label_names, report)
    examples = [infer_labels(ex, info.groups, judging=True) for ex in loaded]
    target = (PrecisionTarget(args.target_precision) if args.target_precision is not None
              else ReviewRateTarget(args.review_rate, args.per_label))
    scores = score_examples(config.load_scorer(log=_note), examples)
    known, positive = sample_labels(examples, info.label_names)
    result = calibrate(scores, known, positive, current, target)
    print(format_report(result, ", ".join(args.data)))
    write_policy(output, updated_policy_data(data, result, args.target_community), info,
                 args.target_community)
    section = (f"[communities.{args.target_community}.labels]" if args.target_community
               else "[labels]")
    print(f"wrote {len(result.thresholds)} review threshold(s) to {output} ({section})",
          file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from serve.server import run

    # Only what was given: the service's environment settings fill in the rest, and it builds
    # (and checks) its ScoringConfig from the two together.
    scoring = given_options(args, ScoringConfig, SERVE_SCORING)
    if args.fast:
        scoring["model"] = _fast_model()
    return run(host=args.host, port=args.port, workers=args.workers, **scoring)


def cmd_export(args: argparse.Namespace) -> int:
    from moderation.export import cached_graph, export_graph

    config = _scoring_config(args)
    info = _model_info(config)
    if args.output:
        path = export_graph(info, Path(args.output), config.precision, base=config.base)
    else:
        path = cached_graph(info, config.precision, base=config.base, log=_note)
    print(path)
    return 0


def _score_on_ray(args: argparse.Namespace, config: ScoringConfig) -> int:
    from moderation.batch import input_files
    from moderation.distributed import score_on_ray

    if args.output == "-" or args.summary or args.report:
        raise ConfigError("--engine ray writes sharded output: give -o DIR (no --summary or "
                          "--report; the local engine makes those)")
    if "-" in args.paths:
        raise ConfigError("--engine ray reads files, not standard input")
    config.load_policy(_model_info(config))  # a bad policy fails here, not in actors
    skipped: list[str] = []
    files = input_files(args.paths, (args.output,), skipped)
    files = [f for f in files if not Path(f).resolve().is_relative_to(Path(args.output).resolve())]
    if not files:
        _error("no input files")
        return 1
    totals = score_on_ray(files, Path(args.output), config, fmt=args.output_format,
                          address=args.address, actors=args.actors, log=_note)
    for failure in totals["failed"]:
        _error(f"{failure['path']}: {failure['reason']}")
    print(f"scored {totals['records']} comment(s) from {totals['scored_shards']} shard(s) into "
          f"{args.output}; {totals['skipped_shards']} shard(s) already done; "
          f"{totals['skipped_comments']} comment(s) skipped; {len(totals['failed'])} shard(s) failed"
          + (f"; {len(skipped)} file(s) in directories skipped as not exports" if skipped else ""),
          file=sys.stderr)
    return 1 if totals["failed"] else 0


def _note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _scoring_config(args: argparse.Namespace) -> ScoringConfig:
    """The scoring settings the command line gave (checked by ScoringConfig itself)."""
    values = given_options(args, ScoringConfig)
    if getattr(args, "fast", False):
        values["model"] = _fast_model()
    return ScoringConfig(**values, inputs=InputOptions(**given_options(args, InputOptions)))


def _fast_model() -> Path:
    from moderation.modeldir import shipped_model_dir

    model = shipped_model_dir("fast")
    if not (model / "config.json").is_file():
        raise ModelLoadError(f"no fast model at {model}: it ships with the source tree; pass "
                             "--model DIR instead")
    return model


def _model_info(config: ScoringConfig) -> ModelInfo:
    from moderation.modeldir import read_model_info

    model_dir = config.model_dir
    if config.model is None and not (model_dir / "config.json").is_file():
        raise ModelLoadError(f"no model at {model_dir}: pass --model DIR or set MODERATION_MODEL")
    return read_model_info(model_dir)


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    add_dataclass_options(group, ScoringConfig, only=("model",))
    group.add_argument("--fast", action="store_true",
                       help="the distilled models/fast (half the layers): about twice as fast as "
                       "the default model, a little less accurate (see its model card)")


def cmd_score(args: argparse.Namespace) -> int:
    import contextlib

    from moderation.batch import (
        Event,
        Failure,
        Scored,
        count_items,
        input_files,
        read_inputs,
        score_events,
        scorer_batch,
    )
    from moderation.io import remove_stale_temporaries
    from moderation.labels import PROPAGANDA
    from moderation.modeldir import write_json
    from moderation.progress import Progress
    from moderation.report import HtmlReport
    from moderation.scorefile import RecordWriter, stop_between_writes
    from moderation.summary import Summary

    config = _scoring_config(args)
    if args.engine == "ray":
        return _score_on_ray(args, config)
    if args.output_format == "parquet":
        raise ConfigError("--output-format parquet is for --engine ray (sharded output)")
    if args.address or args.actors:
        raise ConfigError("--address and --actors are for --engine ray")
    info = _model_info(config)
    policy = config.load_policy(info)  # policy errors show before the model loads
    skipped_files: list[str] = []
    files = input_files(args.paths, (args.output, args.summary, args.report), skipped_files)
    if not files:
        _error("no input files" + (f" ({len(skipped_files)} in directories skipped as not exports)"
                                   if skipped_files else ""))
        return 1
    scorer = config.load_scorer(log=_note)
    labels = scorer.labels
    techniques = [label.name for label in info.labels
                  if label.group == PROPAGANDA and label.name != label.group]
    options = config.inputs
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
        writer = stack.enter_context(RecordWriter(args.output, args.output_format, labels,
                                                  resume=args.resume, chunk=config.chunk))
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
        for chunk in score_events(events, scorer_batch(scorer), policy, chunk=config.chunk,
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
                                        "policy": policy.to_dict(),
                                        "config": config.resolved().to_dict(), **result})
    totals = result["totals"]
    decisions = ", ".join(f"{k} {v}" for k, v in totals["decisions"].items())
    print(f"scored {totals['comments']} comment(s) in {totals['threads']} thread(s) ({decisions}); "
          f"{totals['pingbacks']} pingback(s) listed, not scored; {totals['skipped']} skipped"
          + (f"; {totals['failed_inputs']} input(s) failed" if totals["failed_inputs"] else "")
          + (f"; {len(skipped_files)} file(s) in directories skipped as not exports"
             if skipped_files else ""),
          file=sys.stderr)
    return 1 if totals["failed_inputs"] else 0


Subparsers = Any  # argparse's _SubParsersAction, which it does not export
_BUILDERS: dict[str, Callable[[Subparsers], None]] = {}
# The scoring settings each command takes (the model's are added with --fast beside them).
SCORE_SCORING = ("base", "backend", "precision", "threads", "batch_size", "policy", "community",
                 "chunk")
SERVE_SCORING = ("model", "backend", "precision", "threads", "batch_size", "policy")
EVALUATE_SCORING = ("base", "backend", "precision", "threads", "batch_size")
EXPORT_SCORING = ("base", "precision")
# Not the onnx weights' --precision: calibrate's --precision is the target.
CALIBRATE_SCORING = ("base", "backend", "threads", "batch_size")


def _command(name: str) -> Callable[[Callable[[Subparsers], None]], Callable[[Subparsers], None]]:
    """Register the function that adds command ``name`` to the parser."""
    def register(build: Callable[[Subparsers], None]) -> Callable[[Subparsers], None]:
        _BUILDERS[name] = build
        return build
    return register


@_command("parse")
def _parse_command(sub: Subparsers) -> None:
    from moderation.parsers import format_names

    p = sub.add_parser(
        "parse",
        help="parse exports (WXR, Disqus, HTML, Reddit, text, JSON) into thread JSONL",
        description="Parse comment-thread exports into one JSON thread per line.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, directories or - for stdin")
    add_deprecated(p, p.add_argument("--input-format", choices=format_names(),
                                     help="skip detection and read every input as this format"),
                   "--format")
    p.add_argument("-o", "--output", default="-", help="output file (default: stdout)")
    p.set_defaults(func=cmd_parse)


@_command("score")
def _score_command(sub: Subparsers) -> None:
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
    add_deprecated(sc, sc.add_argument("--output-format", choices=("jsonl", "csv", "parquet"),
                                       default="jsonl",
                                       help="records format (default: jsonl; parquet: --engine ray "
                                       "only)"), "--format")
    sc.add_argument("--summary", metavar="FILE", help="write a per-thread summary (JSON)")
    sc.add_argument("--report", metavar="FILE.html", help="write a self-contained HTML report")
    sc.add_argument("--resume", action="store_true", help="keep the records OUT already holds "
                    "and append the rest (use the same inputs and options)")
    add_dataclass_options(sc, InputOptions)
    add_dataclass_options(sc, ScoringConfig, only=SCORE_SCORING)
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


@_command("serve")
def _serve_command(sub: Subparsers) -> None:
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
    add_dataclass_options(s, ScoringConfig, only=SERVE_SCORING[1:], defaults={
        "threads": "the cores per worker; with torch, one less", "batch_size": "8"})
    s.set_defaults(func=cmd_serve)


@_command("train")
def _train_command(sub: Subparsers) -> None:
    from training.config import TrainingArguments

    t = sub.add_parser(
        "train",
        help="fine-tune a classifier on labelled CSV/TSV/JSONL",
        description="Fine-tune a classifier (LoRA by default) on labelled data. Settings come from "
        "these options, then --config TOML (or the recipe's own settings file), then the "
        "defaults shown.",
    )
    t.add_argument("--config", metavar="TOML", help="training settings file: any of the settings "
                   "below, by their names with underscores (lora_r = 8)")
    add_dataclass_options(t, TrainingArguments)
    t.set_defaults(func=cmd_train)


@_command("evaluate")
def _evaluate_command(sub: Subparsers) -> None:
    e = sub.add_parser(
        "evaluate",
        help="measure a model on labelled data",
        description="Per label: support, ROC-AUC, average precision, F1/precision/recall at the "
        "model's threshold, expected calibration error, and character span F1 where gold spans "
        "exist.",
    )
    _add_model_options(e)
    e.add_argument("--data", nargs="+", metavar="PATH", help="labelled files")
    e.add_argument("--recipe", help="evaluate on a recipe's validation split instead of --data")
    e.add_argument("--data-dir", metavar="DIR", help="where the recipe finds its datasets")
    e.add_argument("--by-source", action="store_true", help="one table per dataset")
    e.add_argument("--mapping", metavar="FILE", help="column mapping (JSON or TOML)")
    e.add_argument("--compare", metavar="DIR2", help="a second model, side by side")
    add_dataclass_options(e, ScoringConfig, only=EVALUATE_SCORING)
    e.add_argument("-o", "--output", metavar="FILE",
                   help="where to save the metrics as JSON (default: evaluation-MODEL.json)")
    e.set_defaults(func=cmd_evaluate)


@_command("calibrate")
def _calibrate_command(sub: Subparsers) -> None:
    c = sub.add_parser(
        "calibrate",
        help="fit review thresholds to a site's own labelled comments; writes a policy file",
        description="Pick each label's review threshold from a sample of the site's comments "
        "labelled by its moderators, for a target precision or a review rate, and write them "
        "to the policy file that score and serve read. Prints per label the threshold, "
        "precision, recall and review rate on the sample with 95% bootstrap intervals, and "
        "warns where the sample is too small to trust. Labels the sample does not annotate "
        "keep their thresholds.",
    )
    _add_model_options(c)
    c.add_argument("--data", nargs="+", required=True, metavar="PATH",
                   help="the labelled sample: CSV, TSV or JSONL (as train and evaluate read)")
    c.add_argument("--mapping", metavar="FILE", help="column mapping (JSON or TOML)")
    goal = c.add_mutually_exclusive_group(required=True)
    goal.add_argument("--precision", dest="target_precision", type=_open_share, metavar="P",
                      help="per label, the lowest threshold at which at least P of the flagged "
                      "comments show the label (0 < P < 1)")
    goal.add_argument("--review-rate", type=_open_share, metavar="R",
                      help="send about R of the comments to review (any label flagged), the "
                      "labels calibrated taking equal shares (0 < R < 1)")
    c.add_argument("--per-label", action="store_true",
                   help="with --review-rate: each label calibrated flags about R of the "
                   "comments on its own")
    c.add_argument("--community", dest="target_community", metavar="NAME",
                   help="write the thresholds for this community ([communities.NAME.labels]) "
                   "instead of the file's defaults ([labels])")
    c.add_argument("-o", "--output", required=True, metavar="POLICY.toml",
                   help="the policy file to write; an existing one keeps its other sections, "
                   "labels and reject thresholds")
    add_dataclass_options(c, ScoringConfig, only=CALIBRATE_SCORING)
    c.set_defaults(func=cmd_calibrate)


def _open_share(text: str) -> float:
    """A share strictly between 0 and 1 (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (exclusive), got {text}")
    return value


@_command("export")
def _export_command(sub: Subparsers) -> None:
    x = sub.add_parser(
        "export",
        help="export a model to ONNX (int8 by default) ahead of first use",
        description="Export a model directory (base and adapter merged, both heads) to ONNX and "
        "quantise it to int8. Without -o the graph goes to the cache the onnx backend reads "
        "($MODERATION_CACHE_DIR, default ~/.cache/moderation), so the first scoring run does not "
        "wait for it. Prints the graph's path.",
    )
    _add_model_options(x)
    add_dataclass_options(x, ScoringConfig, only=EXPORT_SCORING)
    add_deprecated(x, x.add_argument("-o", "--output", metavar="FILE.onnx",
                                     help="write here instead of the cache"), "--out")
    x.set_defaults(func=cmd_export)


def build_parser() -> argparse.ArgumentParser:
    from moderation import __version__

    parser = argparse.ArgumentParser(
        prog="moderation",
        description="Parse comment-thread exports and score comments for hostility and "
        "propaganda techniques.",
    )
    parser.add_argument("--version", action="version", version=f"moderation {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    rank = {name: i for i, name in enumerate(COMMAND_ORDER)}
    for name in sorted(_BUILDERS, key=lambda name: rank.get(name, len(rank))):  # stable: others
        _BUILDERS[name](sub)                                                       # as registered
    return parser


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """``parser.parse_args``, except that an unknown option is reported by the command's own
    parser (its usage, not the top level's) with the closest option it has."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        command = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001
        command.choices[args.command].error(unknown_options(command.choices[args.command], extras))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parse_args(parser, argv)
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
