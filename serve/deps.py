"""FastAPI dependencies: the model loader, the running service, and access control.

``load_scorer`` is how the app's lifespan gets its scorer, and the lifespan honours
``app.dependency_overrides[load_scorer]``: tests swap in a fake scorer there and keep
everything else (batcher, checks, metrics, readiness) real.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import (
    APIKeyHeader,
    APIKeyQuery,
    HTTPAuthorizationCredentials,
    HTTPBearer,
)

from serve.errors import ApiError
from serve.limits import RateLimiter, retry_after
from serve.service import ScorerLike, Service
from serve.settings import Settings


def load_scorer(settings: Settings) -> ScorerLike:
    return settings.scoring.load_scorer()


async def get_service(request: Request) -> Service:
    service: Service | None = getattr(request.app.state, "service", None)
    if service is None:
        raise ApiError(503, "the model is not loaded", headers={"Retry-After": "5"})
    return service


ServiceDep = Annotated[Service, Depends(get_service)]

# Dependencies are ``async def`` although they never await: FastAPI runs plain ``def``
# dependencies in a thread pool, a hop that cost more than the rest of a request.

_bearer = HTTPBearer(auto_error=False, description="an API key as a bearer token")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key")
_query = APIKeyQuery(name="key", auto_error=False, description="an API key (Perspective clients)")


class Access:
    """API keys (none configured: open), the per-caller rate limit in texts, and the limit on
    wrong keys per client address."""

    def __init__(self, keys: frozenset[str], limiter: RateLimiter, failures: RateLimiter) -> None:
        self.keys = keys
        self.limiter = limiter
        self.failures = failures

    def check(self, request: Request, key: str | None) -> str:
        """The caller (its key, or its address when the service is open), once it may go ahead;
        its admission takes one text from its rate limit."""
        address = request.client.host if request.client else "unknown"
        if self.keys:
            # Checked before the key, so that a guesser learns nothing more once refused.
            wait = self.failures.wait(address)
            if wait > 0:
                raise ApiError(429, f"too many wrong API keys from this address; retry in {wait:.0f} s",
                               headers={"Retry-After": retry_after(wait)})
            if key is None:
                raise ApiError(401, "an API key is required: send 'Authorization: Bearer KEY' or "
                               "'X-API-Key: KEY'", headers={"WWW-Authenticate": "Bearer"})
            if not any(hmac.compare_digest(key.encode(), k.encode()) for k in self.keys):
                self.failures.charge(address, 1)
                raise ApiError(401, "unknown API key", headers={"WWW-Authenticate": "Bearer"})
            caller = "key:" + key
        else:
            caller = "addr:" + address
        wait = self.limiter.take(caller)
        if wait > 0:
            raise ApiError(429, f"rate limit of {self.limiter.rate:g} texts/s exceeded; retry in "
                           f"{wait:.2f} s", headers={"Retry-After": retry_after(wait)})
        request.state.caller = caller
        return caller


def charge_texts(request: Request, texts: int) -> None:
    """Charge a request's texts, beyond the one its admission took, to its caller's rate limit
    (into debt if need be: the next request waits until it is paid off)."""
    caller = getattr(request.state, "caller", None)
    if caller is not None and texts > 1:
        _access(request).limiter.charge(caller, texts - 1)


def _access(request: Request) -> Access:
    access: Access = request.app.state.access
    return access


async def check_access(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header_key: Annotated[str | None, Security(_header)],
) -> None:
    key = header_key or (bearer.credentials if bearer else None)
    _access(request).check(request, key)


async def check_access_perspective(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header_key: Annotated[str | None, Security(_header)],
    query_key: Annotated[str | None, Security(_query)],
) -> None:
    key = header_key or (bearer.credentials if bearer else None) or query_key
    _access(request).check(request, key)
