"""Property-based requests generated from the app's own OpenAPI schema (schemathesis): valid
and invalid bodies, parameters and headers for every operation. Bad input must be a documented
4xx; nothing may answer 5xx, and every response must match its schema."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from serve.app import create_app
from serve.deps import load_scorer
from serve.settings import Settings
from tests.serve.fakes import FakeScorer


def _app():  # type: ignore[no-untyped-def]
    # Small limits, so generated bodies also cross them. The fake model loads (in the lifespan)
    # on the first request, not here.
    app = create_app(Settings(max_text_chars=200, max_score_body_bytes=2048, max_body_bytes=4096,
                                max_upload_bytes=8192))
    app.dependency_overrides[load_scorer] = lambda _settings: FakeScorer()
    return app


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_service_fail(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error, status_code_conformance,
                                   content_type_conformance, response_schema_conformance])
