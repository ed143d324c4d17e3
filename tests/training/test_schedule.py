"""The learning-rate schedule: the curve every model so far was trained with, saved in
checkpoints as JSON, and resumed the same with or without that saved state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tests.tiny_model import toy_rows, write_jsonl
from training.schedule import make_schedule, restore_schedule

BASE_RATES = (5e-4, 2e-3)


def formula(step: int, total: int, warmup: int) -> float:
    """The share of the base rates at ``step`` (from 0) as the trainer has always computed it."""
    if step < warmup:
        return (step + 1) / max(1, warmup)
    return max(0.0, (total - step) / max(1, total - warmup))


def _optimizer() -> torch.optim.AdamW:
    weight = torch.nn.Parameter(torch.zeros(3))
    head = torch.nn.Parameter(torch.zeros(2))
    return torch.optim.AdamW([{"params": [weight], "lr": BASE_RATES[0]},
                              {"params": [head], "lr": BASE_RATES[1]}])


def _rates(total: int, warmup: int, done: int = 0, saved: dict[str, Any] | None = None
           ) -> list[tuple[float, float]]:
    """The rates each step from ``done`` on runs at, stepping as the training loop does."""
    optimizer = _optimizer()
    schedule = make_schedule(optimizer, total, warmup, done)
    if saved is not None:
        restore_schedule(schedule, saved, done, "test")
    rates = []
    for _ in range(done, total):
        rates.append(tuple(group["lr"] for group in optimizer.param_groups))
        optimizer.step()
        schedule.step()
    return rates


@pytest.mark.parametrize(("total", "warmup"), [(10, 3), (8, 2), (5, 0), (4, 1), (1, 0), (300, 18)])
def test_each_step_runs_at_the_rate_of_the_formula(total: int, warmup: int) -> None:
    want = [[base * formula(step, total, warmup) for base in BASE_RATES] for step in range(total)]
    np.testing.assert_allclose(np.array(_rates(total, warmup)), np.array(want), rtol=1e-12, atol=0)


def test_the_first_step_is_not_wasted_and_the_peak_is_held_two_steps() -> None:
    rates = [encoder for encoder, _ in _rates(10, 4)]
    assert rates[0] == pytest.approx(BASE_RATES[0] / 4)  # not 0, as a schedule counted from 0
    assert rates[3] == rates[4] == pytest.approx(BASE_RATES[0])
    assert rates[-1] == pytest.approx(BASE_RATES[0] / 6)


def test_a_schedule_resumes_where_it_stopped_with_or_without_its_saved_state() -> None:
    total, warmup, done = 12, 3, 5
    optimizer = _optimizer()
    schedule = make_schedule(optimizer, total, warmup)
    for _ in range(done):
        optimizer.step()
        schedule.step()
    saved = json.loads(json.dumps(schedule.state_dict()))  # as state.json holds it
    whole = _rates(total, warmup)
    assert _rates(total, warmup, done, saved) == whole[done:]
    np.testing.assert_allclose(_rates(total, warmup, done), whole[done:], rtol=1e-15)
    with pytest.raises(Exception, match="schedule is at step 6, not 5"):
        _rates(total, warmup, done - 1, saved)


class _Stop(Exception):
    pass


def _args(data: Path, base: Path, out: Path, **extra: Any) -> Any:
    from training.config import TrainingArguments

    return TrainingArguments(data=[str(data)], out=str(out), base=str(base), labels=["hostility"],
                             max_steps=8, warmup_fraction=0.3, batch_size=16, max_length=32,
                             score_max_length=32, stride=8, threads=1, checkpoint_every=4,
                             learning_rate=3e-3, head_learning_rate=0.05, **extra)


@pytest.mark.parametrize("saved", ["schedule saved", "checkpoint from before schedules were saved"])
def test_a_stopped_run_resumes_to_the_same_weights(tiny_base: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch, saved: str) -> None:
    from safetensors.numpy import load_file

    import training.loop
    from training.trainer import train

    data = write_jsonl(tmp_path / "train.jsonl", toy_rows(200, 31))
    train(_args(data, tiny_base, tmp_path / "whole"), log=lambda message: None)

    losses = 0
    loss_of_batch = training.loop.batch_loss

    def stop_after_five(*args: Any, **kwargs: Any) -> Any:
        nonlocal losses
        losses += 1
        if losses == 6:  # the checkpoint of step 4 is written, step 5 is lost
            raise _Stop
        return loss_of_batch(*args, **kwargs)

    cut = tmp_path / "cut"
    with monkeypatch.context() as patch:
        patch.setattr(training.loop, "batch_loss", stop_after_five)
        with pytest.raises(_Stop):
            train(_args(data, tiny_base, cut), log=lambda message: None)
    state_file = cut / "checkpoint" / "state.json"
    state = json.loads(state_file.read_text())
    assert state["step"] == 4 and state["schedule"]["last_epoch"] == 5
    if saved != "schedule saved":
        del state["schedule"]
        state_file.write_text(json.dumps(state))
    logged: list[str] = []
    train(_args(data, tiny_base, cut, resume=True), log=logged.append)
    assert any("resumed from" in line and "at step 4/8" in line for line in logged)
    for name in ("heads.safetensors", "adapter_model.safetensors"):
        whole, resumed = load_file(str(tmp_path / "whole" / name)), load_file(str(cut / name))
        for key in whole:
            np.testing.assert_allclose(resumed[key], whole[key], rtol=0, atol=1e-6, err_msg=key)
    assert not list(cut.rglob("*.pt")) and not list(cut.rglob("*.bin"))
