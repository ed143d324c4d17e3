"""The OpenAPI schema, made as strict as the service: what the schema accepts, the service accepts.

The request models give the rules that hold for any model (a text has a character that is not
whitespace, at least one label or attribute when the field is there). What depends on the loaded
model and the settings (its labels, the policy's communities, the Perspective attributes, the
languages, the text limit) is filled in here, once the service is running, so that a client or
a generated test reading the schema meets no 4xx for a request the schema allows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from serve import feedback, perspective
from serve.routes import perspective as perspective_routes
from serve.routes import threads
from serve.service import Service


def install(app: FastAPI) -> None:
    """Serve the schema with the running service's rules (the plain one before it runs)."""
    plain: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        schema = plain()
        service: Service | None = app.state.service
        if service is not None and not app.state.openapi_tightened:
            tighten(schema, service)
            app.state.openapi_tightened = True
        return schema

    app.state.openapi_tightened = False
    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend it


def tighten(schema: dict[str, Any], service: Service) -> None:
    models = schema["components"]["schemas"]
    labels = service.info.label_names
    communities = list(service.communities)
    for name in ("ScoreRequest", "BatchRequest"):
        properties = models[name]["properties"]
        _string_branch(properties["labels"]["anyOf"][0]["items"])["enum"] = labels
        if communities:
            _string_branch(properties["community"])["enum"] = communities
        else:  # no policy communities: the field may only be left out (or null)
            properties["community"] = {"type": "null", "title": "Community"}
    models["ScoreRequest"]["properties"]["text"]["maxLength"] = service.settings.max_text_chars
    models["TextEntry"]["properties"]["text"]["maxLength"] = service.settings.max_text_chars

    # A language matches on its primary subtag, in any case, as perspective.check reads it.
    primaries = "|".join("".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in language)
                         for language in sorted({perspective.primary(lang) for lang in service.settings.languages}))
    attributes = {"enum": sorted(perspective.attributes(service.info))}
    for name, field in (("AnalyzeRequest", "requestedAttributes"), ("SuggestRequest", "attributeScores")):
        request = models[name]["properties"]
        request[field]["propertyNames"] = attributes
        _string_branch(request["languages"]["anyOf"][0]["items"])["pattern"] = \
            rf"^\s*(?:{primaries})(?:[-_][\s\S]*|\s*)$"

    if service.feedback_file is None:  # the routes answer 404: the schema offers neither
        for path in (feedback.PATH, perspective_routes.SUGGEST_PATH):
            schema["paths"].pop(path, None)
    else:
        verdict = models["FeedbackRequest"]["properties"]
        verdict["text"]["maxLength"] = service.settings.max_text_chars
        verdict["labels"]["propertyNames"] = {"enum": labels}
        models["SpanIn"]["properties"]["label"]["enum"] = labels

    operation = schema["paths"][threads.PATH]["post"]
    for parameter in list(operation.get("parameters", [])):
        if parameter["name"] == "community":
            if communities:
                _string_branch(parameter["schema"])["enum"] = communities
            else:
                operation["parameters"].remove(parameter)


def _string_branch(node: dict[str, Any]) -> dict[str, Any]:
    """The ``{"type": "string"}`` schema in ``node`` (itself, or its ``anyOf`` branch)."""
    if node.get("type") == "string":
        return node
    return next(branch for branch in node.get("anyOf", ()) if branch.get("type") == "string")
