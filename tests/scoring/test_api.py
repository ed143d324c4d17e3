"""The Python API (``moderation.load(...).score(...)``) on the toy model: its records are the
records ``moderation score`` writes for the same input, and ``import moderation`` stays light."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import moderation
from moderation.parsers import parse_file
from moderation.record import ScoredRecord
from tests.conftest import REPO
from tests.scoring.conftest import read_records, score, toy_comment, toy_threads, write_threads
from tests.tiny_model import HOSTILE


@pytest.fixture(scope="module")
def model(toy_model: Path) -> moderation.Model:
    return moderation.load(toy_model)


def test_thread_records_equal_the_command_lines(
    model: moderation.Model, toy_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_threads(tmp_path / "threads.jsonl", toy_threads())
    out = tmp_path / "scores.jsonl"
    code, _, err = score([str(source), "--model", str(toy_model), "-o", str(out)], capsys)
    assert code == 0, err
    written = read_records(out)

    records = model.score_threads(parse_file(source))
    assert all(isinstance(r, ScoredRecord) for r in records)
    # the command line leaves the empty comment out; the API answers it with an error record
    [empty] = [r for r in records if r.failed]
    assert empty.id == "t0-empty" and empty.error is not None and empty.error.code == 422
    assert [r.to_json() for r in records if not r.failed] == written
    assert any(r.flags for r in records if not r.failed)  # the toy model flags the hostile ones

    # one thread at a time: the same records (a thread's comments scored in their own calls)
    first = next(iter(parse_file(source)))
    assert [r.to_json() for r in model.score_thread(first) if not r.failed] == \
        [r for r in written if r["thread"]["source"] == first.source]


def test_text_records_equal_the_command_lines_for_a_comment_list(
    model: moderation.Model, toy_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import random

    rng = random.Random(5)
    texts = [toy_comment(rng, HOSTILE[i % 3] if i % 2 else None) for i in range(30)]
    listing = tmp_path / "comments.jsonl"
    listing.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    out = tmp_path / "scores.jsonl"
    code, _, err = score([str(listing), "--model", str(toy_model), "-o", str(out)], capsys)
    assert code == 0, err

    records = model.score(texts, source=str(listing))
    assert [r.to_json() for r in records] == read_records(out)
    assert [r.id for r in records] == [str(n) for n in range(1, 31)]
    assert records[1].decision == "review" and "hostility" in (records[1].flags or ())
    assert records[0].decision == "allow" and records[0].spans == ()


def test_every_text_gets_a_record_in_order(model: moderation.Model) -> None:
    records = model.score(["the river is vile", "  ", "bread and coffee"])
    assert [r.id for r in records] == ["1", "2", "3"]
    assert [r.failed for r in records] == [False, True, False]
    assert records[1].to_json()["error"] == {"code": 422, "message": "the text is empty"}
    assert records[0].thread.source == "<texts>" and model.labels == ["hostility", "insult", "threat"]


def test_mistakes_get_clear_errors(model: moderation.Model, toy_model: Path, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"score\(\[text\]\)"):
        model.score("one text")
    with pytest.raises(TypeError, match=r"texts\[1\]: expected a string, got int"):
        model.score(["fine", 3])  # type: ignore[list-item]
    with pytest.raises(moderation.ModelLoadError, match="no such model directory"):
        moderation.load(tmp_path / "missing")
    with pytest.raises(moderation.ConfigError, match="needs a policy file"):
        moderation.load(toy_model, community="kids")
    policy = tmp_path / "policy.toml"
    policy.write_text("[labels]\nhostility = { review = 0.0, reject = 0.0 }\n")
    strict = moderation.load(toy_model, policy=policy)
    assert strict.score(["bread and coffee"])[0].decision == "reject"


def test_import_moderation_loads_no_model_library() -> None:
    code = ("import sys, moderation; heavy = [m for m in ('torch', 'transformers', 'onnxruntime', "
            "'numpy', 'moderation.model') if m in sys.modules]; "
            "assert callable(moderation.load) and 'load' in dir(moderation); print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
