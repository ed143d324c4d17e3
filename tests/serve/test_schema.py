"""Property-based requests generated from the app's own OpenAPI schema (schemathesis): valid
and invalid bodies, parameters and headers for every operation, with every check schemathesis
has. Nothing may answer 5xx; every status, header and body must be as documented; and the
schema must be exactly as strict as the service: a request it allows is not refused (bar the
size limits, 413, which a schema cannot state for a body), and one it forbids is refused.

The exceptions, each for a reason: an upload's bytes are a file in any of six formats, which no
schema describes, so /v1/threads is not held to "allowed means accepted"; neither is a verdict
with spans, which must fall inside its text and mark a label it gives 1 (rules across fields
that no schema states); and the service is called with a valid key, so the check that random
keys are refused does not apply (the access tests do that). Verdicts go to a feedback store in
a temporary directory."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from serve.app import create_app
from serve.deps import load_scorer
from serve.settings import Settings
from tests.serve.fakes import FakeScorer

KEY = "schema-test-key"
POLICY = Path(__file__).with_name("schema_policy.toml")
STORE = Path(tempfile.mkdtemp(prefix="schema-feedback-")) / "feedback.jsonl"


def _app():
    # Small limits, so generated bodies also cross them; a policy with a community, so the
    # schema lists one. The fake model loads (in the lifespan) on the first request, not here.
    app = create_app(Settings(max_text_chars=200, max_score_body_bytes=2048, max_body_bytes=4096,
                              max_upload_bytes=8192, policy=POLICY, api_keys=[KEY], auth_failures=0,
                              feedback_file=STORE))
    app.dependency_overrides[load_scorer] = lambda _settings: FakeScorer()
    return app


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())
for check in (schema.config.checks.positive_data_acceptance, schema.config.checks.negative_data_rejection):
    check.expected_statuses = [*check.expected_statuses, "413"]


@schema.parametrize()
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_schema_and_the_service_agree(case: schemathesis.Case) -> None:
    excluded = [ignored_auth]
    if case.operation.path == "/v1/threads" or _has_spans(case.body):
        excluded.append(positive_data_acceptance)
    case.call_and_validate(excluded_checks=excluded, headers={"X-API-Key": KEY})


def _has_spans(body: Any) -> bool:
    """Whether a verdict (ours or Perspective's) gives spans."""
    if not isinstance(body, dict):
        return False
    if body.get("spans"):
        return True
    scores = body.get("attributeScores")
    return isinstance(scores, dict) and any(isinstance(a, dict) and a.get("spanScores")
                                            for a in scores.values())
