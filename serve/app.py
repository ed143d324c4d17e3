"""The FastAPI application. Nothing is created at import: ``create_app(settings)`` builds an app,
and its lifespan loads the model, starts the micro-batcher and checks the model answers before
the first request is served.

``app_from_env`` is the factory uvicorn calls in each worker (``moderation serve`` runs it; so
does ``uvicorn --factory serve.app:app_from_env``).
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from moderation import __version__
from moderation.errors import ModelLoadError
from serve import openapi
from serve.deps import Access, load_scorer
from serve.errors import ApiError, CatchAllMiddleware, install_handlers
from serve.limits import BodyLimitMiddleware, RateLimiter
from serve.metrics import Metrics, ObserveMiddleware
from serve.routes import docs, feedback, health, info, perspective, score, threads
from serve.service import Service
from serve.settings import Settings, load_settings

log = logging.getLogger("moderation.serve")

DESCRIPTION = """Scores reader comments for hostility and propaganda techniques with the model
loaded at start. Labels, groups and thresholds come from the model (`GET /v1/labels`).
`POST /v1alpha1/comments:analyze` answers Perspective's requests in Perspective's shape.
`POST /v1/feedback` and Perspective's `comments:suggestscore` store moderators' verdicts for
training (when `MODERATION_FEEDBACK_FILE` is set).
Errors are JSON: `{"error": {"code", "status", "message", "details"}}`."""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    loader = app.dependency_overrides.get(load_scorer, load_scorer)
    start = time.perf_counter()
    # uvicorn serves nothing until the lifespan has started, so loading may block here.
    scorer = loader(settings)
    service = Service(scorer, settings, app.state.metrics)
    try:
        probe_ms = await service.start()
    except ApiError as exc:
        await service.close()
        raise ModelLoadError(f"{settings.model_dir}: the model failed its start-up probe ({exc.message})") from None
    app.state.service = service
    log.info("model %s %s (%d labels) loaded in %.1f s; probe answered in %.0f ms",
             service.info.name, service.info.version, len(service.info.labels),
             time.perf_counter() - start, probe_ms)
    if app.state.freeze_heap:
        # What is alive now (the model, the tokenizer, every imported module: some 400,000
        # objects) lives as long as the process. Left to the collector, each full collection
        # walks all of it, a 50 to 200 ms pause of every request in flight that came every few
        # seconds under load; frozen, the collector only looks at what requests allocate.
        gc.collect()
        gc.freeze()
    try:
        yield
    finally:
        app.state.service = None
        await service.close()


def create_app(settings: Settings, *, freeze_heap: bool = False) -> FastAPI:
    """The app for ``settings``. ``freeze_heap``: once the model is loaded, exempt everything
    then alive from garbage collection (for a server process; see ``lifespan``)."""
    app = FastAPI(
        title="moderation",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # The schema and the documentation pages are routes of our own (serve/routes/docs.py):
        # assets served here, not from a CDN, and each page counted under its own label.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    docs.assets_dir()  # the documentation's assets are installed, or the app is not made
    app.state.settings = settings
    app.state.freeze_heap = freeze_heap
    app.state.service = None
    app.state.metrics = metrics = Metrics()
    app.state.access = Access(
        settings.keys, RateLimiter(settings.rate_limit, settings.rate_burst),
        RateLimiter(settings.auth_failures / settings.auth_failure_window_s, settings.auth_failures),
    )
    install_handlers(app)
    openapi.install(app)
    for router in (score.router, threads.router, perspective.router, feedback.router, info.router,
                   health.router, docs.router):
        app.include_router(router)
    # Added innermost first: requests pass the catch-all, metrics, CORS, then the body limit.
    app.add_middleware(BodyLimitMiddleware, default=settings.max_body_bytes, per_path={
        threads.PATH: settings.max_upload_bytes, score.PATH: settings.max_score_body_bytes,
        perspective.PATH: settings.max_score_body_bytes, perspective.SUGGEST_PATH: settings.max_score_body_bytes,
        feedback.PATH: settings.max_score_body_bytes}, timeout=settings.body_timeout_s)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"], max_age=600,
        )
    app.add_middleware(ObserveMiddleware, metrics=metrics, log_requests=settings.access_log)
    app.add_middleware(CatchAllMiddleware)
    return app


def app_from_env() -> FastAPI:
    """The app for the settings in ``MODERATION_*`` environment variables."""
    return create_app(load_settings(), freeze_heap=True)
