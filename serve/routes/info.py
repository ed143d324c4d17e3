"""GET /v1/labels and /v1/models: what the loaded model knows, read from its directory."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from serve.deps import ServiceDep, check_access
from serve.errors import responses
from serve.schemas import LabelsResponse, ModelsResponse

router = APIRouter(prefix="/v1", tags=["model"], dependencies=[Depends(check_access)],
                   responses=responses(401, 429, 503))


@router.get("/labels", response_model=LabelsResponse)
async def labels(service: ServiceDep) -> dict[str, Any]:
    """The model's labels, in its order, with group, description, the model's threshold and
    the review/reject thresholds of the default policy."""
    rules = service.policy.rules
    return {
        "labels": [
            {"name": label.name, "group": label.group, "headline": label.name == label.group,
             "description": label.description, "threshold": label.threshold,
             "review": rules[label.name].review, "reject": rules[label.name].reject, "spans": label.spans}
            for label in service.info.labels
        ],
        "policy": service.policy.name,
        "communities": list(service.communities),
        "model": service.model,
    }


@router.get("/models", response_model=ModelsResponse)
async def models(service: ServiceDep) -> dict[str, Any]:
    """The models this service has loaded (one per process)."""
    info = service.info
    return {"models": [{
        "name": info.name, "version": info.version, "base_model": info.base_name,
        "finetune": info.finetune, "labels": info.label_names, "max_length": info.max_length,
        "stride": info.stride, "backend": service.backend, "loaded": True,
    }]}
