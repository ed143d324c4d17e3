"""``moderation score --engine ray``: the local engine's scoring, spread over a Ray cluster.

Each input file is a shard. Ray Data maps the shards over a pool of actors
(``map_batches`` with an actor pool); each actor loads the model once and scores whole shards
with the local engine's own code (:func:`moderation.batch.score_events`), so a shard's records
are exactly the records ``moderation score`` writes for that file. Each shard's output is
written atomically (``part-NNNNN.jsonl`` or ``.parquet``, numbered in input order), so a
re-run into the same directory skips the shards already done, and a killed run leaves no
half-written part. A shard that cannot be read is reported and the others go on; an actor
that dies is restarted by Ray and its shard retried.

Ray is an optional extra (``pip install 'moderation[distributed]'``); nothing else in the
project imports this module.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from moderation.backends import default_backend
from moderation.errors import ConfigError, ModerationError
from moderation.export import cached_graph
from moderation.io import atomic_output, atomic_path
from moderation.modeldir import read_model_info
from moderation.record import ScoredRecord
from moderation.scorefile import format_records
from moderation.scoring_config import ScoringConfig

FORMATS = ("jsonl", "parquet")
MANIFEST = "_manifest.json"


def part_name(index: int, fmt: str) -> str:
    return f"part-{index:05d}.{fmt}"


class ShardScorer:
    """A Ray Data actor: loads the model once, then scores one shard per call, the way the
    local engine would with the same ``config``. ``cwd`` is the driver's directory: inputs are
    named as given (records carry the name), relative to it."""

    def __init__(self, config: ScoringConfig, out_dir: str, fmt: str, cwd: str = ".") -> None:
        if os.path.isdir(cwd):
            os.chdir(cwd)
        self.config = config
        self.out_dir = Path(out_dir)
        self.fmt = fmt
        self.policy = config.load_policy(read_model_info(config.model_dir))
        self.scorer = config.load_scorer()

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {"index": [], "path": [], "records": [], "skipped": [],
                                     "failure": []}
        for index, path in zip(batch["index"], batch["path"], strict=True):
            records, skipped, failure = self._score(str(path))
            if failure is None or records:
                self._write(int(index), records)
            out["index"].append(int(index))
            out["path"].append(str(path))
            out["records"].append(len(records))
            out["skipped"].append(skipped)
            out["failure"].append(failure or "")
        return out

    def _score(self, path: str) -> tuple[list[ScoredRecord], int, str | None]:
        from moderation.batch import (
            Failure,
            Scored,
            Skipped,
            read_inputs,
            score_events,
            scorer_batch,
        )

        records: list[ScoredRecord] = []
        skipped = 0
        failure = None
        events = read_inputs([path], self.config.inputs)
        for chunk in score_events(events, scorer_batch(self.scorer), self.policy,
                                  chunk=self.config.chunk):
            for event in chunk:
                if isinstance(event, Scored):
                    records.append(event.record)
                elif isinstance(event, Skipped):
                    skipped += 1
                elif isinstance(event, Failure):
                    failure = event.reason
        return records, skipped, failure

    def _write(self, index: int, records: list[ScoredRecord]) -> None:
        target = self.out_dir / part_name(index, self.fmt)
        if self.fmt == "jsonl":
            with atomic_output(str(target)) as handle:
                handle.write(format_records(records, "jsonl", self.scorer.labels).decode("utf-8"))
            return
        import pyarrow.parquet as pq

        with atomic_path(target) as tmp:
            pq.write_table(ScoredRecord.arrow_table(records, self.scorer.labels), str(tmp))


def score_on_ray(
    files: Sequence[str],
    out_dir: Path,
    config: ScoringConfig,
    *,
    fmt: str = "jsonl",
    address: str | None = None,
    actors: int | None = None,
    log: Callable[[str], None] = lambda message: None,
) -> dict[str, Any]:
    """Score ``files`` (one shard each) on Ray into ``out_dir``; returns the run's totals.
    The manifest records ``config`` with its paths made absolute (the backend and batch size
    left unset are each actor's own defaults: a cluster's workers may lack ONNX Runtime)."""
    if fmt not in FORMATS:
        raise ConfigError(f"--output-format must be one of {', '.join(FORMATS)} with --engine ray")
    try:
        import ray
    except ImportError:
        raise ConfigError("--engine ray needs Ray: pip install 'moderation[distributed]'") from None
    config = config.absolute()
    out_dir.mkdir(parents=True, exist_ok=True)
    done = {i for i in range(len(files)) if (out_dir / part_name(i, fmt)).is_file()}
    todo = [{"index": i, "path": p} for i, p in enumerate(files) if i not in done]
    if done:
        log(f"{len(done)} shard(s) already in {out_dir}; skipped")
    results: list[dict[str, Any]] = []
    if todo:
        if (config.backend or default_backend()) == "onnx" and address is None:
            # Local actors share this machine's export cache: fill it once here rather than
            # in every actor at the same time.
            cached_graph(read_model_info(config.model_dir), config.precision, base=config.base,
                         log=log)
        if not ray.is_initialized():
            # Without an address, a local instance on this machine (as many CPUs as it has).
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     runtime_env=_runtime_env() if address else None)
        size = actors or max(1, min(len(todo), int(ray.available_resources().get("CPU", 1))
                                    // max(1, config.threads or 1)))
        dataset = ray.data.from_items(todo).map_batches(
            ShardScorer,
            fn_constructor_kwargs={"config": config, "out_dir": str(out_dir.resolve()), "fmt": fmt,
                                   "cwd": str(Path.cwd())},
            batch_size=1,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=size),
            num_cpus=config.threads or 1,
            max_restarts=2,
            max_task_retries=2,
        )
        try:
            rows = dataset.take_all()
        except Exception as exc:  # noqa: BLE001 - Ray wraps what failed in its own types
            raise ModerationError(f"the Ray run stopped: {_root_cause(exc)}; the parts already "
                                  "written are kept, and a re-run continues from them") from None
        results = sorted(rows, key=lambda row: int(row["index"]))
    failures = [{"path": str(r["path"]), "reason": str(r["failure"])} for r in results if r["failure"]]
    totals = {
        "shards": len(files),
        "scored_shards": len(results) - sum(1 for r in results if r["failure"] and not r["records"]),
        "skipped_shards": len(done),
        "records": sum(int(r["records"]) for r in results),
        "skipped_comments": sum(int(r["skipped"]) for r in results),
        "failed": failures,
    }
    manifest = {"inputs": [str(p) for p in files], "format": fmt, "config": config.to_dict(),
                **totals}
    with atomic_output(str(out_dir / MANIFEST)) as handle:
        handle.write(json.dumps(manifest, indent=2) + "\n")
    return totals


def _root_cause(exc: BaseException) -> str:
    """Our own error, when an actor raised one (Ray's message carries the remote traceback)."""
    ours = [line.split(": ", 1)[1] for line in str(exc).splitlines()
            if line.startswith("moderation.errors.") and ": " in line]
    return ours[-1] if ours else str(exc).splitlines()[0]


def _runtime_env() -> dict[str, Any]:
    # A remote cluster needs this project importable on its workers: ship the working tree
    # unless the cluster has it installed already (MODERATION_RAY_NO_UPLOAD=1).
    if os.environ.get("MODERATION_RAY_NO_UPLOAD"):
        return {}
    root = Path(__file__).resolve().parent.parent
    return {"working_dir": str(root), "excludes": ["runs/", ".venv/", "*.onnx", ".git/"]}
