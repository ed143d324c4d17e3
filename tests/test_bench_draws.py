"""bench/draws.py: the spread of a setting's draws, figure by figure, and where another model
falls outside it. Model directories are written here with the two files training writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.draws import main


def _model(root: Path, name: str, auc: float, review: float | None, caught: float) -> Path:
    model = root / name
    model.mkdir()
    (model / "metrics.json").write_text(json.dumps({"labels": {
        "hostility": {"roc_auc": auc, "support": 40},
        "threat": {"roc_auc": 0.5, "support": 3},  # too few positives to list
    }}))
    (model / "decisions.json").write_text(json.dumps({"rows": [
        {"source": "forum", "calm": 200, "review": review, "hostile": 10, "caught": caught,
         "propaganda": 0, "propaganda_caught": None, "plain": 0, "plain_flagged": None},
    ]}))
    return model


def _row(out: str, figure: str) -> list[str]:
    [line] = [line for line in out.splitlines() if line.startswith(figure)]
    return line[len(figure):].split()


def test_the_draws_spread_and_a_model_outside_it(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    draws = [_model(tmp_path, f"d{i}", auc, review, caught) for i, (auc, review, caught) in
             enumerate([(0.90, 0.08, 0.2), (0.91, 0.10, 0.5), (0.92, 0.09, 0.3)])]
    inside = _model(tmp_path, "inside", 0.905, 0.085, 0.4)
    outside = _model(tmp_path, "outside", 0.95, 0.2, 0.4)
    assert main([*map(str, draws), "--against", str(inside), str(outside)]) == 0
    out = capsys.readouterr().out

    assert _row(out, "ROC-AUC hostility") == ["40", "0.910", "0.010", "0.900–0.920", "0.905",
                                              "0.950*"]
    assert _row(out, "forum: calm to review") == ["200", "9.0", "1.0", "8.0–10.0", "8.5", "20.0*"]
    assert _row(out, "forum: hostile caught")[:4] == ["10", "33.3", "15.3", "20.0–50.0"]
    assert "threat" not in out and "technique" not in out  # too few positives; no such texts
    assert "3 draws" in out


def test_one_draw_or_a_directory_without_figures_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    draw = _model(tmp_path, "d0", 0.9, 0.1, 0.5)
    with pytest.raises(SystemExit):
        main([str(draw)])
    assert "at least two draws" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SystemExit, match="empty: not a trained model directory"):
        main([str(draw), str(empty)])
