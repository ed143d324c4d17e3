"""GET /healthz, /readyz and /metrics: for orchestrators and Prometheus, open without a key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from serve.deps import ServiceDep
from serve.errors import responses
from serve.metrics import Metrics
from serve.schemas import Health, Ready

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health)
async def healthz() -> dict[str, Any]:
    """The process is up and answering."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Ready, responses=responses(503))
async def readyz(service: ServiceDep) -> dict[str, Any]:
    """The model is loaded and has scored a probe text through the batcher, at most
    ``MODERATION_READY_CACHE_S`` seconds ago (``probe_age_s``)."""
    probe_ms, age = await service.ready()
    return {"status": "ready", "model": service.model, "probe_ms": round(probe_ms, 2),
            "probe_age_s": round(age, 3)}


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                             "description": "Prometheus text exposition"}})
async def metrics(request: Request) -> Response:
    """Requests by route and status, latency histogram, micro-batch sizes, model time, queue."""
    registry: Metrics = request.app.state.metrics
    return Response(registry.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")
