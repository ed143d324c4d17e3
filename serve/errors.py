"""Every error the service answers with has one JSON shape, Google's (which is also Perspective's)::

    {"error": {"code": 422, "status": "INVALID_ARGUMENT", "message": "...",
               "details": [{"field": "items.3.text", "message": "..."}]}}

Bad input is a 4xx that says which field is wrong and why; a 500 is only ever our fault.
"""

from __future__ import annotations

import logging
import re
import traceback
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("moderation.serve")

# The canonical google.rpc status for an HTTP code, where one exists.
_STATUS = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
    409: "ABORTED", 422: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
    501: "UNIMPLEMENTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}
# Perspective answers bad requests with 400 where the rest of the API says 422.
PERSPECTIVE_PREFIX = "/v1alpha1/"
# JSON's "\ud800" escape decodes to a lone surrogate: a str that cannot be encoded as UTF-8.
SURROGATE = re.compile("[\ud800-\udfff]")
NOT_UNICODE = "holds an unpaired UTF-16 surrogate (e.g. \\ud800); send valid Unicode"


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: int
    status: str
    message: str
    details: list[ErrorDetail] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class ApiError(HTTPException):
    """An error answered as JSON; raise it anywhere below a route."""

    def __init__(self, code: int, message: str, *, details: list[ErrorDetail] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=code, detail=message, headers=headers)
        self.message = message
        self.details = details


def status_name(code: int) -> str:
    if code in _STATUS:
        return _STATUS[code]
    try:
        return HTTPStatus(code).name
    except ValueError:
        return "UNKNOWN"


def printable(text: str) -> str:
    """``text`` with any lone surrogate written as its escape (``\\ud800``), so that an error
    quoting a client's string can always be sent as UTF-8."""
    return SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def error_response(code: int, message: str, details: list[ErrorDetail] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    details = [ErrorDetail(field=printable(d.field), message=printable(d.message)) for d in details or ()] or None
    body = ErrorBody(code=code, status=status_name(code), message=printable(message), details=details)
    return JSONResponse({"error": body.model_dump(exclude_none=True)}, status_code=code, headers=headers)


def field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "items", 3, "text")`` -> ``items.3.text``; the request part is dropped."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "header", "path"):
        parts = parts[1:] or parts
    return ".".join(str(p) for p in parts) or "body"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for this type only
    # Messages name the field and the rule; the offending value is never echoed back.
    details = []
    for error in exc.errors():
        message = str(error.get("msg", "invalid"))
        field = field_name(error.get("loc", ()))
        if error.get("type") == "json_invalid":
            message = f"the body is not valid JSON ({error.get('ctx', {}).get('error', 'decode error')})"
            field = "body"  # its place holds the character offset, not a field
        elif error.get("type") == "string_unicode":  # pydantic's words for the same
            message = NOT_UNICODE
        elif error.get("type") == "value_error":  # our validators' own words
            message = message.removeprefix("Value error, ")
        details.append(ErrorDetail(field=field, message=message))
    summary = "; ".join(f"{d.field}: {d.message}" for d in details[:5])
    if len(details) > 5:
        summary += f"; and {len(details) - 5} more"
    return error_response(_bad_request_code(request), f"invalid request: {summary}", details)


def _bad_request_code(request: Request) -> int:
    return 400 if request.url.path.startswith(PERSPECTIVE_PREFIX) else 422


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for this type only
    if isinstance(exc, ApiError):
        return error_response(exc.status_code, exc.message, exc.details, dict(exc.headers or {}))
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        # FastAPI's "There was an error parsing the body": say what was wrong with it.
        cause = exc.__cause__
        return error_response(_bad_request_code(request), f"the body is not valid JSON: {cause.reason} "
                              f"(byte {cause.object[cause.start]:#04x} at position {cause.start}); send UTF-8")
    return error_response(exc.status_code, str(exc.detail), None, dict(exc.headers or {}))


def log_fault(what: str, exc: BaseException) -> None:
    """Log an exception by type and place only: its message, and the traceback's values, may
    quote the comment it choked on."""
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    log.error("%s: %s at %s", what, type(exc).__name__, f"{where.filename}:{where.lineno}" if where else "?")


class CatchAllMiddleware:
    """Answers any exception below it with the 500 JSON and logs its type and place.

    Starlette's own last-resort handler answers too, but then re-raises, and uvicorn logs the
    full traceback (with the request's strings in it) and closes the keep-alive connection.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:  # noqa: BLE001 - the last boundary: any fault becomes a 500
            log_fault(f"internal error on {scope['method']} {_route(scope)}", exc)
            if not started:
                await error_response(500, "internal error; the service log has the details")(scope, receive, send)
            # Once a response has started there is nothing to add: uvicorn ends the connection.


def _route(scope: Scope) -> str:
    # The route template: the raw path may carry a client's text.
    return getattr(scope.get("route"), "path", None) or "(unmatched route)"


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)


# The error responses every API route may give, for the OpenAPI schema.
def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        400: "Invalid request (Perspective's shape)", 401: "Missing or unknown API key",
        404: "Off: the message names the setting that turns it on",
        413: "Request body too large", 422: "Invalid request: the message names each bad field",
        429: "Rate limit exceeded; see Retry-After", 500: "Internal error",
        503: "Model not loaded, or too busy; see Retry-After",
    }
    return {code: {"model": ErrorResponse, "description": text[code]} for code in codes}
