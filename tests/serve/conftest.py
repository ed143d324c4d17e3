from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from serve.app import create_app
from serve.deps import load_scorer
from serve.settings import Settings
from tests.serve.fakes import FakeScorer


@pytest.fixture
def fake() -> FakeScorer:
    return FakeScorer()


@pytest.fixture
def make_client(fake: FakeScorer) -> Iterator[Callable[..., TestClient]]:
    """A client of a real app (lifespan, batcher, middleware) around the fake scorer."""
    opened: list[TestClient] = []

    def make(**settings: Any) -> TestClient:
        app = create_app(Settings(**settings))
        app.dependency_overrides[load_scorer] = lambda _settings: fake
        client = TestClient(app)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()
