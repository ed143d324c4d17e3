"""Files a library writes by name (atomic_path) and directories written whole
(atomic_directory): replaced only on success, with the modes any output gets."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from moderation import io as atomic
from moderation.io import atomic_directory, atomic_path


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_file_a_library_writes_gets_the_umask_mode_not_the_librarys(umask_022: None,
                                                                      tmp_path: Path) -> None:
    target = tmp_path / "heads.safetensors"
    with atomic_path(target) as tmp:
        save_file({"w": np.ones(3, dtype=np.float32)}, str(tmp))  # safetensors creates 0600
    assert mode(target) == 0o644
    assert load_file(str(target))["w"].tolist() == [1.0, 1.0, 1.0]
    target.chmod(0o640)  # a replaced file keeps its own mode
    with atomic_path(target) as tmp:
        save_file({"w": np.zeros(2, dtype=np.float32)}, str(tmp))
    assert mode(target) == 0o640 and load_file(str(target))["w"].tolist() == [0.0, 0.0]
    assert sorted(os.listdir(tmp_path)) == ["heads.safetensors"]


def test_a_failed_write_by_name_leaves_the_target_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "part-00000.parquet"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed")
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["part-00000.parquet"]


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2-exchange", "two-renames"])
def test_a_directory_is_swapped_in_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         exchange: bool) -> None:
    if not exchange:
        monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    target = tmp_path / "checkpoint"
    for step in (1, 2):
        with atomic_directory(target) as tmp:
            (tmp / "state.json").write_text(f'{{"step": {step}}}')
            if step == 1:
                (tmp / "only-in-the-first").write_text("x")
    assert sorted(os.listdir(target)) == ["state.json"]  # nothing of the old one is left
    assert (target / "state.json").read_text() == '{"step": 2}'
    with pytest.raises(RuntimeError), atomic_directory(target) as tmp:
        (tmp / "state.json").write_text('{"step": 3}')
        raise RuntimeError("killed while writing")
    assert (target / "state.json").read_text() == '{"step": 2}'
    assert os.listdir(tmp_path) == ["checkpoint"]


def test_what_a_killed_directory_write_left_is_cleared_or_put_back(tmp_path: Path) -> None:
    target = tmp_path / "checkpoint"
    half = tmp_path / ".checkpoint.0123abcd.tmp"  # killed while filling the new directory
    half.mkdir()
    (half / "trainable.safetensors").write_bytes(b"half")
    aside = tmp_path / ".checkpoint.89abcdef.tmp.old"  # killed between the two renames
    aside.mkdir()
    (aside / "state.json").write_text('{"step": 7}')
    with atomic_directory(target) as tmp:
        # the old checkpoint is back in place before the new one is written
        assert (target / "state.json").read_text() == '{"step": 7}'
        (tmp / "state.json").write_text('{"step": 8}')
    assert os.listdir(tmp_path) == ["checkpoint"]
    assert (target / "state.json").read_text() == '{"step": 8}'
