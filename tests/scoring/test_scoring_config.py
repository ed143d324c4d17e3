"""ScoringConfig: one object for how comments are scored, checked once, with messages that say
what to fix; the command line builds it from options, and a run records it resolved."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from moderation.errors import ConfigError
from moderation.scoring_config import DEFAULT_CHUNK, InputOptions, ScoringConfig
from tests.conftest import REPO
from tests.scoring.conftest import score


@pytest.mark.parametrize(("settings", "message"), [
    ({"batch_size": 0}, "batch size must be at least 1, got 0"),
    ({"chunk": 0}, "chunk must be at least 1, got 0"),
    ({"threads": -2}, "threads must be at least 1, got -2"),
    ({"backend": "tensorrt"}, "backend must be one of torch, onnx, got 'tensorrt'"),
    ({"precision": "fp16"}, "precision must be one of int8, fp32, got 'fp16'"),
    ({"community": "kids"}, "community 'kids' needs a policy file that defines it (--policy FILE)"),
])
def test_bad_settings_are_refused_with_what_to_fix(settings: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ScoringConfig(**settings)
    assert str(caught.value) == message


def test_bad_input_options_are_refused() -> None:
    with pytest.raises(ConfigError, match="input_format: unknown format 'yaml'; choose one of json"):
        InputOptions(input_format="yaml")
    with pytest.raises(ConfigError, match="text_field must name a field"):
        InputOptions(text_field=" ")


def test_defaults_paths_and_the_resolved_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = ScoringConfig(model="m", policy="p.toml", community="kids")  # type: ignore[arg-type]
    assert config.model == Path("m") and config.policy == Path("p.toml")  # strings become paths
    assert config.chunk == DEFAULT_CHUNK and config.precision == "int8" and config.inputs == InputOptions()
    resolved = config.resolved()
    assert resolved.model == tmp_path / "m" and resolved.policy == tmp_path / "p.toml"
    assert resolved.backend in ("onnx", "torch") and resolved.batch_size in (8, 32)
    assert config.absolute().backend is None  # left to each process that scores
    data = resolved.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["model"] == str(tmp_path / "m") and data["inputs"]["text_field"] == "text"
    monkeypatch.setenv("MODERATION_MODEL", str(tmp_path / "elsewhere"))
    assert ScoringConfig().model_dir == tmp_path / "elsewhere"


@pytest.mark.parametrize(("option", "message"), [
    (["--chunk", "0"], "moderation: chunk must be at least 1, got 0"),
    (["--batch-size", "0"], "moderation: batch size must be at least 1, got 0"),
    (["--threads", "0"], "moderation: threads must be at least 1, got 0"),
])
def test_the_command_line_reports_a_bad_setting_in_one_line(option: list[str], message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "moderation.cli", "score", "x.jsonl", *option],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr == message + "\n"


def test_the_summary_records_the_resolved_settings(
        toy_model: Path, toy_thread_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary = tmp_path / "summary.json"
    code, _, err = score([str(toy_thread_file), "--model", str(toy_model), "-o", str(tmp_path / "s.jsonl"),
                          "--summary", str(summary), "--chunk", "7", "--text-field", "body",
                          "--backend", "torch"], capsys)
    assert code == 0, err
    config = json.loads(summary.read_text())["config"]
    assert config == ScoringConfig(model=toy_model, backend="torch", chunk=7,
                                   inputs=InputOptions(text_field="body")).resolved().to_dict()
    assert config["batch_size"] == 32 and config["model"] == str(toy_model.resolve())
