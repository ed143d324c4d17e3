"""`moderation score --engine ray` on a local Ray instance: the same records as the local
engine, shard for shard; a broken shard is reported, not fatal; a re-run skips finished shards."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from moderation.cli import main
from tests.conftest import REPO
from tests.scoring.conftest import read_records, toy_threads, write_flat, write_threads

pytest.importorskip("ray", reason="Ray is the optional 'distributed' extra")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "moderation.cli", "score", "-q", *args],
                          cwd=REPO, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shards")
    for i in range(4):
        write_flat(root / f"comments-{i}.jsonl", 80, seed=i)
    write_threads(root / "threads.jsonl", toy_threads(4, 10))
    (root / "broken.xml").write_text("<?xml version='1.0'?><rss><channel><item>", encoding="utf-8")
    return root


def test_ray_records_equal_the_local_engine(shards: Path, toy_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "ray"
    result = run(str(shards), "--model", str(toy_model), "-o", str(out), "--engine", "ray",
                 "--actors", "2", "--threads", "1")
    assert result.returncode == 1, result.stderr  # the broken shard is reported ...
    assert "broken.xml" in result.stderr
    files = sorted(p.name for p in shards.iterdir())
    parts = sorted(out.glob("part-*.jsonl"))
    assert len(parts) == len(files) - 1  # ... and every other shard is written
    manifest = json.loads((out / "_manifest.json").read_text())
    assert [Path(p).name for p in manifest["inputs"]] == files
    assert [f["path"] for f in manifest["failed"]] == [str(shards / "broken.xml")]
    # the scoring settings the shards were scored with, paths made absolute
    assert manifest["config"]["model"] == str(toy_model.resolve()) and manifest["config"]["threads"] == 1

    ray_records = [r for part in parts for r in read_records(part)]
    assert len(ray_records) == manifest["records"] > 4 * 80
    local = tmp_path / "local.jsonl"
    for name in files:  # the local engine, one file at a time (a shard is one input)
        if name == "broken.xml":
            continue
        one = tmp_path / f"{name}.out"
        assert main(["score", "-q", str(shards / name), "--model", str(toy_model), "-o", str(one),
                     "--threads", "1"]) == 0
        with local.open("a", encoding="utf-8") as handle:
            handle.write(one.read_text(encoding="utf-8"))
    local_records = read_records(local)
    assert len(local_records) == len(ray_records)
    for a, b in zip(ray_records, local_records, strict=True):
        assert {k: v for k, v in a.items() if k != "scores"} == {k: v for k, v in b.items() if k != "scores"}
        assert a["scores"].keys() == b["scores"].keys()
        assert max(abs(a["scores"][k] - b["scores"][k]) for k in a["scores"]) < 1e-5

    # A re-run skips the finished shards and retries only the broken one.
    stamp = parts[0].stat().st_mtime_ns
    again = run(str(shards), "--model", str(toy_model), "-o", str(out), "--engine", "ray",
                "--actors", "1", "--threads", "1")
    assert f"{len(parts)} shard(s) already in" in again.stderr
    assert parts[0].stat().st_mtime_ns == stamp


def test_ray_engine_refuses_what_it_cannot_write(toy_model: Path, tmp_path: Path) -> None:
    source = write_flat(tmp_path / "c.jsonl", 5)
    result = run(str(source), "--model", str(toy_model), "--engine", "ray")
    assert result.returncode == 2
    assert "-o DIR" in result.stderr
    local = run(str(source), "--model", str(toy_model), "--output-format", "parquet", "-o", str(tmp_path / "x"))
    assert local.returncode == 2 and "--engine ray" in local.stderr


def test_ray_parquet_parts_hold_the_records(toy_model: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    (tmp_path / "in").mkdir()
    source = write_flat(tmp_path / "in" / "c.jsonl", 30)
    out = tmp_path / "out"
    result = run(str(source.parent), "--model", str(toy_model), "-o", str(out), "--engine", "ray",
                 "--output-format", "parquet", "--actors", "1", "--threads", "1")
    assert result.returncode == 0, result.stderr
    rows = pq.read_table(out / "part-00000.parquet").to_pylist()
    local = tmp_path / "local.jsonl"
    assert main(["score", "-q", str(source), "--model", str(toy_model), "-o", str(local),
                 "--threads", "1"]) == 0
    expected = read_records(local)
    assert [r["id"] for r in rows] == [r["id"] for r in expected]
    assert [r["decision"] for r in rows] == [r["decision"] for r in expected]
    assert rows[0]["scores"].keys() == expected[0]["scores"].keys()
