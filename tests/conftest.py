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

from tests.tiny_model import build_tiny_bert, toy_rows, write_jsonl

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


@pytest.fixture(scope="session", autouse=True)
def export_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ONNX exports go to a temporary cache, never the user's (child processes inherit it)."""
    from moderation.export import CACHE_ENV

    path = tmp_path_factory.mktemp("onnx-cache")
    os.environ[CACHE_ENV] = str(path)
    return path


# A tiny randomly initialised BERT and a model trained on the toy task (tests/tiny_model.py),
# shared by the classifier, scoring and service tests.
@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def toy_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("toy-data")
    return write_jsonl(root / "train.jsonl", toy_rows(400, 1)), write_jsonl(root / "val.jsonl", toy_rows(120, 2))


@pytest.fixture(scope="session")
def toy_model(tiny_base: Path, toy_files: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained on the toy task (shared by the tests that only read it)."""
    from training.config import TrainingArguments
    from training.trainer import train

    out = tmp_path_factory.mktemp("models") / "toy"
    train(TrainingArguments(
        data=[str(toy_files[0])], validation=[str(toy_files[1])], out=str(out), base=str(tiny_base),
        labels=["hostility", "insult", "threat"], epochs=10, batch_size=16, max_length=32,
        score_max_length=32, stride=8, learning_rate=3e-3, lora_alpha=64, head_learning_rate=0.1,
        threads=1,
    ), log=lambda message: None)
    return out
