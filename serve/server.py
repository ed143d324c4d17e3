"""``moderation serve``: validate the settings, then run uvicorn on the app factory.

Settings given as options are passed to the worker processes through the environment, the
same way as every other setting, so one or N workers see exactly the same configuration.
"""

from __future__ import annotations

import copy
import multiprocessing
import os
import sys
from pathlib import Path
from typing import Any

from moderation.backends import require_onnx
from moderation.export import cache_path, cached_graph
from moderation.feedback import check_store
from moderation.modeldir import ModelInfo, read_model_info, resolve_base
from serve.service import load_policies
from serve.settings import (
    ENV_PREFIX,
    RENAMED,
    STILL_READ,
    likely_setting,
    load_settings,
    unknown_environment,
)

FACTORY = "serve.app:app_from_env"


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, plus the service's loggers on the same handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["moderation"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return config


def export_in_child(info: ModelInfo, precision: str) -> None:
    """Export the graph in a child process. The export needs torch, which the onnx backend does
    not: imported here, it would stay in a one-worker server's memory for its whole life (with
    the default model, 685 MB ready after exporting here, 191 MB after a child's export)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        pool.apply(cached_graph, (info, precision), {"log": _note})


def _note(message: str) -> None:  # a module-level function: the spawned child imports it
    print(message, file=sys.stderr, flush=True)


def run(*, host: str | None = None, port: int | None = None, model: str | Path | None = None,
        workers: int | None = None, backend: str | None = None, precision: str | None = None,
        threads: int | None = None, batch_size: int | None = None,
        policy: str | Path | None = None) -> int:
    import uvicorn

    # Paths as absolute ones: the workers may not start where this process did.
    model = None if model is None else str(Path(model).resolve())
    policy = None if policy is None else str(Path(policy).resolve())
    overrides = {"host": host, "port": port, "model": model, "workers": workers,
                 "backend": backend, "precision": precision, "threads": threads,
                 "batch_size": batch_size, "policy": policy}
    settings = load_settings(**overrides)
    for name in unknown_environment():
        meant = likely_setting(name)
        hint = f" (now {meant})" if name in RENAMED else f" (did you mean {meant}?)" if meant else ""
        print(f"moderation: warning: {name} is not a service setting{hint}; ignored", file=sys.stderr)
    for old, new in STILL_READ.items():
        if old in os.environ:
            print(f"moderation: warning: {old} is now {new}; still read, but rename it",
                  file=sys.stderr)
    # Fail here, with one line, rather than in every worker with a traceback.
    info = read_model_info(settings.model_dir)
    resolve_base(info.base_name)
    load_policies(info, settings)
    if settings.feedback_file is not None:
        check_store(settings.feedback_file)
    if settings.backend == "onnx":
        # Export once here, not in every worker at the same time.
        require_onnx()
        if not cache_path(info, settings.precision).is_file():
            export_in_child(info, settings.precision)
    for name, value in overrides.items():
        if value is not None:
            os.environ[f"{ENV_PREFIX}{name.upper()}"] = str(value)
    from serve.protocol import GuardedHttpToolsProtocol

    uvicorn.run(
        FACTORY, factory=True, host=settings.host, port=settings.port, workers=settings.workers,
        lifespan="on", access_log=False, log_config=log_config(settings.log_level),
        log_level=settings.log_level, server_header=False, http=GuardedHttpToolsProtocol,
        limit_concurrency=settings.max_connections, timeout_keep_alive=settings.keep_alive_s,
        h11_max_incomplete_event_size=settings.max_header_bytes,
    )
    return 0
