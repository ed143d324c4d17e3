"""The package outside the checkout: ``python -m build`` makes a wheel that holds the shipped
models, and installed into a fresh virtual environment it scores (and serves) with them from a
directory that is not the checkout.

The environment is made offline and fast: ``venv --without-pip``, the wheel installed by this
environment's pip (``--python``, ``--no-deps``, ``--no-index``), and the dependencies taken
from this environment's site-packages through a ``.pth`` file written after the install (so
that pip sees nothing installed, and the checkout's editable install, whose finder only a
``.pth`` of its own would start, stays out of it). The models run with the torch backend, which
needs no export; the ONNX path is the same code and is tested in the checkout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.server import serving

COMMENTS = [{"id": "a", "text": "What a clown, you vile idiot."},
            {"id": "b", "text": "Thanks for the clear report on the bridge."}]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # sdist first, then the wheel from it (what `python -m build` does), so MANIFEST.in is
    # tested too; no isolation: the build backend comes from this environment, offline.
    done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out),
                           str(REPO)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [built] = out.glob("moderation-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                           "--no-deps", "--no-index", "--quiet", str(wheel)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return root


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODERATION_")}
    env["MODERATION_CACHE_DIR"] = os.environ["MODERATION_CACHE_DIR"]  # the tests' own cache
    env.pop("PYTHONPATH", None)
    return env


def test_the_wheel_holds_the_code_templates_and_shipped_models(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for model in ("default", "fast"):
        for file in ("config.json", "labels.json", "heads.safetensors", "README.md"):
            assert f"moderation/models/{model}/{file}" in names
    assert "moderation/models/default/adapter_model.safetensors" in names
    assert "moderation/models/fast/encoder.safetensors" in names
    assert {"moderation/cli.py", "serve/app.py", "training/recipes/default.toml",
            "moderation/templates/report.html.j2"} <= names
    assert not [n for n in names if "/checkpoint/" in n or n.endswith((".onnx", ".pyc"))]


def test_installed_moderation_scores_with_the_shipped_model_outside_the_checkout(
    venv: Path, tmp_path: Path
) -> None:
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import moderation, serve; from moderation.modeldir "
         "import default_model_dir; print(moderation.__file__, serve.__file__, default_model_dir())"],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, check=True).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where  # the wheel's, not the checkout's
    comments = tmp_path / "comments.jsonl"
    comments.write_text("".join(json.dumps(c) + "\n" for c in COMMENTS), encoding="utf-8")
    done = subprocess.run([str(venv / "bin" / "moderation"), "score", "comments.jsonl", "-o",
                           "scores.jsonl", "--backend", "torch", "--threads", "1", "-q"],
                          cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in (tmp_path / "scores.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == ["a", "b"]
    assert "hostility" in records[0]["flags"] and records[1]["decision"] == "allow"



@pytest.fixture
def served(venv: Path, tmp_path: Path) -> Iterator[str]:
    """``moderation serve --fast`` from the installed package, on loopback."""

    command = [str(venv / "bin" / "moderation"), "serve", "--fast", "--backend", "torch", "--threads", "1"]
    with serving(command, cwd=tmp_path, env=_env(), log=tmp_path / "server.log", timeout=180) as url:
        yield url


@pytest.mark.slow  # a second model and a server: with the test above, over 30 s
def test_installed_moderation_scores_and_serves_with_the_fast_model(
    venv: Path, served: str, tmp_path: Path
) -> None:
    import httpx

    comments = tmp_path / "comments.jsonl"
    comments.write_text("".join(json.dumps(c) + "\n" for c in COMMENTS), encoding="utf-8")
    done = subprocess.run([str(venv / "bin" / "moderation"), "score", "comments.jsonl", "--fast",
                           "--backend", "torch", "--threads", "1", "-q"],
                          cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    first = json.loads(done.stdout.splitlines()[0])
    assert first["id"] == "a" and "hostility" in first["flags"]

    body = httpx.post(f"{served}/v1/score", json={"text": COMMENTS[0]["text"]}).json()
    assert "hostility" in body["flags"] and body["model"]["name"] == "fast"
    assert httpx.get(f"{served}/openapi.json").json()["info"]["title"] == "moderation"
    assert httpx.get(f"{served}/docs/assets/swagger-ui-bundle.js").status_code == 200
