"""Shared test fixtures.

Tests that read ``../shared`` (the real seeds, sample exports and labelled datasets beside the
repository) use the ``shared_dir`` fixture, which skips them, with a visible reason, when that
folder is absent (a user's fresh clone). CI has it, so there they run. ``MODERATION_SHARED``
points elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"


def _shared() -> Path:
    return Path(os.environ.get("MODERATION_SHARED", REPO.parent / "shared")).resolve()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: opt in with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    path = _shared()
    if not path.is_dir():
        pytest.skip(f"../shared is absent ({path}): real seeds, samples and data not available")
    return path


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return SEEDS
