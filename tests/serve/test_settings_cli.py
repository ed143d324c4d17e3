"""Settings from the environment, validated at start; the serve command's errors; lazy imports."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from moderation.errors import ConfigError
from serve.settings import load_settings
from tests.conftest import REPO


def test_settings_come_from_moderation_environment_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MODERATION_PORT", "9001")
    monkeypatch.setenv("MODERATION_API_KEYS", "k1, k2")
    monkeypatch.setenv("MODERATION_CORS_ORIGINS", "https://a.example,https://b.example")
    monkeypatch.setenv("MODERATION_MODEL", str(tmp_path))
    settings = load_settings(port=9002)
    assert settings.port == 9002  # an option wins over the environment
    assert settings.keys == {"k1", "k2"}
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.model_dir == tmp_path
    assert settings.max_text_chars == 20000 and settings.rate_limit == 0 and settings.host == "127.0.0.1"


@pytest.mark.parametrize(("env", "words"), [
    ({"MODERATION_PORT": "99999"}, "MODERATION_PORT: Input should be less than or equal to 65535"),
    ({"MODERATION_WORKERS": "0"}, "MODERATION_WORKERS"),
    ({"MODERATION_MAX_WAIT_MS": "soon"}, "MODERATION_MAX_WAIT_MS"),
    ({"MODERATION_API_KEYS_FILE": "/no/such/keys"}, "api_keys_file /no/such/keys"),
    ({"MODERATION_LOG_LEVEL": "loud"}, "MODERATION_LOG_LEVEL"),
    ({"MODERATION_BACKEND": "tensorrt"}, "MODERATION_BACKEND"),
])
def test_bad_settings_are_refused_with_the_variable_named(monkeypatch: pytest.MonkeyPatch, env: dict,
                                                          words: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="invalid service settings") as caught:
        load_settings()
    assert words in str(caught.value)


def test_limits_must_agree_so_every_accepted_request_can_be_queued() -> None:
    settings = load_settings()
    assert settings.max_queue >= settings.max_thread_comments  # the defaults agree
    with pytest.raises(ConfigError, match=r"MODERATION_MAX_QUEUE \(4096\) is less than "
                       r"MODERATION_MAX_THREAD_COMMENTS \(10000\)"):
        load_settings(max_queue=4096)
    with pytest.raises(ConfigError, match="less than a batch's 256 items"):
        load_settings(max_queue=200, max_thread_comments=100)


def test_empty_keys_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "keys"
    empty.write_text("# nothing\n\n")
    with pytest.raises(ConfigError, match="holds no key"):
        load_settings(api_keys_file=empty)


def _moderation(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "moderation.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})})


def test_serve_refuses_a_missing_model_in_one_line(tmp_path: Path) -> None:
    done = _moderation("serve", "--model", str(tmp_path / "nowhere"), "--port", "0",
                       env={"MODERATION_MAX_TEXT_BYTES": "100", "MODERATION_FEEDBAK_FILE": "f.jsonl"})
    assert done.returncode == 2
    assert "config.json is missing" in done.stderr and "Traceback" not in done.stderr
    assert "MODERATION_MAX_TEXT_BYTES is not a service setting (now MODERATION_MAX_TEXT_CHARS)" in done.stderr
    assert ("MODERATION_FEEDBAK_FILE is not a service setting (did you mean MODERATION_FEEDBACK_FILE?)"
            in done.stderr)


def test_serve_refuses_a_bad_policy_in_one_line(tmp_path: Path) -> None:
    from moderation.modeldir import LabelInfo, ModelInfo, write_model_info

    model = tmp_path / "model"
    write_model_info(ModelInfo(path=model, name="m", version="1", labels=(LabelInfo("hostility", "hostility"),),
                               base_name=str(tmp_path), base_sha256="0"))
    (tmp_path / "config.json").write_text("{}")  # a "local base" for the pre-flight check
    policy = tmp_path / "policy.toml"
    policy.write_text("[labels]\nhostilty = { review = 0.5 }\n")
    done = _moderation("serve", "--model", str(model), "--port", "0", env={"MODERATION_POLICY": str(policy)})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "hostilty: not a label of model 'm'" in done.stderr


@pytest.mark.parametrize("name", ["../../outside", "/tmp/abs", "a/b", "..", ".hidden", "", "a\\b", "x\n",
                                  "C:x", "trailing ", "x" * 101])
def test_a_model_name_that_could_leave_the_export_cache_is_refused(tmp_path: Path, name: str) -> None:
    from moderation.errors import ModelLoadError
    from moderation.export import cache_path
    from moderation.modeldir import LabelInfo, ModelInfo

    info = ModelInfo(path=tmp_path, name=name, version="1", labels=(LabelInfo("hostility", "hostility"),),
                     base_name="none", base_sha256="0")
    with pytest.raises(ModelLoadError, match="cannot name a directory in the export cache"):
        cache_path(info)
    for fine in ("default", "my-model_v2.1", "Mein Modell", "modèle"):
        ok = ModelInfo(path=tmp_path, name=fine, version="1", labels=info.labels, base_name="none",
                       base_sha256="0")
        assert cache_path(ok).parent.name.startswith(f"{fine}-")


def test_serve_refuses_a_hostile_model_name_in_one_line(tmp_path: Path) -> None:
    from moderation.modeldir import LabelInfo, ModelInfo, write_model_info

    model = tmp_path / "model"
    write_model_info(ModelInfo(path=model, name="../../../escape", version="1",
                               labels=(LabelInfo("hostility", "hostility"),), base_name=str(tmp_path),
                               base_sha256="0"))
    (tmp_path / "config.json").write_text("{}")  # a "local base" for the pre-flight check
    done = _moderation("serve", "--model", str(model), "--port", "0", "--backend", "onnx",
                       env={"MODERATION_CACHE_DIR": str(tmp_path / "cache")})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "cannot name a directory in the export cache" in done.stderr
    assert not (tmp_path / "escape").exists()


def test_serve_refuses_a_bad_setting_in_one_line() -> None:
    done = _moderation("serve", "--workers", "0")
    assert done.returncode == 2
    assert "MODERATION_WORKERS" in done.stderr and "Traceback" not in done.stderr


def test_building_the_app_loads_no_model_and_help_lists_serve() -> None:
    # Nothing is created at import, and torch waits for the lifespan.
    code = ("import sys, serve.app; from serve.app import create_app; from serve.settings import Settings; "
            "create_app(Settings()); assert 'torch' not in sys.modules, 'torch imported'")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    help_text = _moderation("serve", "--help").stdout
    for option in ("--host", "--port", "--model", "--workers", "MODERATION_"):
        assert option in help_text


def test_serve_exports_in_a_child_so_torch_stays_out_of_the_server(toy_model: Path, tmp_path: Path) -> None:
    code = ("import sys; from moderation.export import cache_path; from moderation.modeldir import "
            "read_model_info; from serve.server import export_in_child; "
            f"info = read_model_info({str(toy_model)!r}); assert not cache_path(info).is_file(); "
            "export_in_child(info, 'int8'); assert cache_path(info).is_file(), 'no graph'; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    env = {**os.environ, "MODERATION_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "exporting" in done.stderr  # the child's progress reaches the console


def test_serve_runs_uvicorn_with_connection_limits_and_the_guarded_protocol(
        monkeypatch: pytest.MonkeyPatch, toy_model: Path) -> None:
    import uvicorn

    from serve import server
    from serve.protocol import GuardedHttpToolsProtocol

    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.setattr(os, "environ", {**os.environ, "MODERATION_MAX_CONNECTIONS": "50"})
    assert server.run(model=str(toy_model), backend="torch") == 0
    [kwargs] = calls
    assert kwargs["http"] is GuardedHttpToolsProtocol
    assert (kwargs["limit_concurrency"], kwargs["timeout_keep_alive"]) == (50, 5)
    assert kwargs["h11_max_incomplete_event_size"] == 16384


def test_every_setting_is_documented() -> None:
    from serve.settings import Settings

    readme = (REPO / "serve" / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(MODERATION_[A-Z_]+)` \|", readme, flags=re.M))
    assert documented == {f"MODERATION_{name.upper()}" for name in Settings.model_fields}


def test_the_service_runs_onnx_runtime_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODERATION_BACKEND", raising=False)
    assert load_settings().backend == "onnx"
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if not installed
    assert load_settings().backend == "torch"


def test_onnx_backend_setting_reaches_the_scorer(monkeypatch: pytest.MonkeyPatch, toy_model: Path) -> None:
    from serve.deps import load_scorer

    monkeypatch.setenv("MODERATION_BACKEND", "onnx")
    monkeypatch.setenv("MODERATION_MODEL", str(toy_model))
    settings = load_settings()
    assert settings.model_threads == os.cpu_count()  # ONNX Runtime gets every core
    assert load_settings(backend="torch").model_threads == max(1, (os.cpu_count() or 2) - 1)
    from moderation.scorer import Scorer

    scorer = load_scorer(settings)
    assert isinstance(scorer, Scorer) and scorer.backend.name == "onnx-int8"
    assert scorer.score("you vile idiot").scores.keys() == set(scorer.labels)


def test_a_misspelt_setting_is_named_and_the_export_cache_is_known(monkeypatch: pytest.MonkeyPatch) -> None:
    from serve.settings import likely_setting, unknown_environment

    monkeypatch.setenv("MODERATION_MAX_BATHC", "8")
    monkeypatch.setenv("MODERATION_CACHE_DIR", "/tmp/graphs")
    assert unknown_environment() == ["MODERATION_MAX_BATHC"]
    assert likely_setting("MODERATION_MAX_BATHC") == "MODERATION_MAX_BATCH"
    assert likely_setting("MODERATION_FEEDBAK_FILE") == "MODERATION_FEEDBACK_FILE"
    assert likely_setting("MODERATION_MAX_TEXT_BYTES") == "MODERATION_MAX_TEXT_CHARS"  # renamed
    assert likely_setting("MODERATION_COLOUR") is None


def test_the_scoring_settings_are_the_services_scoring_config(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from moderation.scoring_config import ScoringConfig

    policy = tmp_path / "policy.toml"
    monkeypatch.setenv("MODERATION_MODEL", str(tmp_path))
    monkeypatch.setenv("MODERATION_BACKEND", "torch")
    settings = load_settings(batch_size=4, threads=2, policy=policy)
    assert settings.scoring == ScoringConfig(model=tmp_path, backend="torch", precision="int8",
                                             threads=2, batch_size=4, policy=policy)


def test_forward_batch_is_now_batch_size_and_the_old_name_is_still_read(
        monkeypatch: pytest.MonkeyPatch, toy_model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import uvicorn

    from serve import server
    from serve.settings import unknown_environment

    monkeypatch.delenv("MODERATION_BATCH_SIZE", raising=False)
    monkeypatch.setenv("MODERATION_FORWARD_BATCH", "4")
    assert load_settings().batch_size == load_settings().scoring.batch_size == 4
    assert unknown_environment() == []  # known, not "not a service setting"
    monkeypatch.setenv("MODERATION_BATCH_SIZE", "16")
    assert load_settings().batch_size == 16  # the new name wins
    assert load_settings(batch_size=2).batch_size == 2  # and an option wins over both
    monkeypatch.delenv("MODERATION_BATCH_SIZE")
    monkeypatch.setenv("MODERATION_FORWARD_BATCH", "0")
    with pytest.raises(ConfigError, match="MODERATION_FORWARD_BATCH: Input should be greater"):
        load_settings()  # the variable named is the one that was set

    monkeypatch.setenv("MODERATION_FORWARD_BATCH", "4")
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    monkeypatch.setattr(os, "environ", {**os.environ})  # run() exports its options to the workers
    assert server.run(model=str(toy_model), backend="torch", batch_size=8) == 0
    assert os.environ["MODERATION_BATCH_SIZE"] == "8"
    assert ("moderation: warning: MODERATION_FORWARD_BATCH is now MODERATION_BATCH_SIZE; still "
            "read, but rename it") in capsys.readouterr().err


def test_serve_takes_the_scoring_options_of_score() -> None:
    help_text = _moderation("serve", "--help").stdout
    for option in ("--backend", "--precision", "--threads", "--batch-size", "--policy"):
        assert option in help_text
    done = _moderation("serve", "--batch-size", "0")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "MODERATION_BATCH_SIZE: Input should be greater than or equal to 1" in done.stderr


def test_serve_refuses_a_bad_policy_option_in_one_line(tmp_path: Path) -> None:
    from moderation.modeldir import LabelInfo, ModelInfo, write_model_info

    model = tmp_path / "model"
    write_model_info(ModelInfo(path=model, name="m", version="1", labels=(LabelInfo("hostility", "hostility"),),
                               base_name=str(tmp_path), base_sha256="0"))
    (tmp_path / "config.json").write_text("{}")  # a "local base" for the pre-flight check
    policy = tmp_path / "policy.toml"
    policy.write_text("[labels]\nhostilty = { review = 0.5 }\n")
    done = _moderation("serve", "--model", str(model), "--port", "0", "--policy", str(policy))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "hostilty: not a label of model 'm'" in done.stderr
