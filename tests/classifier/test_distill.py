"""A distilled student: fewer layers, trained against a teacher's scores and evidence."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from moderation.errors import ModelLoadError
from moderation.metrics import roc_auc
from moderation.modeldir import read_model_info
from tests.tiny_model import toy_rows, write_jsonl
from training.model import kept_layers


@pytest.fixture(scope="module")
def student(toy_model: Path, tiny_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One layer of the tiny BERT's two, distilled from the toy model on data that annotates
    hostility only: whatever it knows of insults it learnt from the teacher."""
    from training.config import TrainingArguments
    from training.trainer import train

    root = tmp_path_factory.mktemp("student")
    rows = [{k: v for k, v in row.items() if k != "insult"} for row in toy_rows(400, 11)]
    val = [{k: v for k, v in row.items() if k != "insult"} for row in toy_rows(120, 12)]
    out = root / "student"
    train(TrainingArguments(
        data=[str(write_jsonl(root / "train.jsonl", rows))],
        validation=[str(write_jsonl(root / "val.jsonl", val))], out=str(out), base=str(tiny_base),
        teacher=[str(toy_model)], layers=1, epochs=6, batch_size=16, max_length=32,
        score_max_length=32, stride=8, learning_rate=3e-3, head_learning_rate=0.03, threads=1,
    ), log=lambda message: None)
    return out


def test_layers_are_evenly_spaced_and_end_with_the_last() -> None:
    assert kept_layers(6, 3) == (1, 3, 5)
    assert kept_layers(6, 2) == (2, 5)
    assert kept_layers(2, 1) == (1,)
    assert kept_layers(6, None) == () and kept_layers(6, 6) == ()


def test_student_keeps_one_layer_and_ships_only_its_weights(student: Path, toy_model: Path) -> None:
    from safetensors import safe_open

    info = read_model_info(student)
    assert info.layers == (1,) and info.finetune == "full"
    assert info.label_names == read_model_info(toy_model).label_names
    with safe_open(str(student / "encoder.safetensors"), "np") as weights:
        names = list(weights.keys())
        dtypes = {str(weights.get_tensor(name).dtype) for name in names}
    assert names and all(name.startswith("encoder.layer.0.") for name in names)
    assert dtypes == {"float16"}
    assert not (student / "teacher-outputs.safetensors").exists()
    assert json.loads((student / "training_config.json").read_text())["teacher"] == [str(toy_model)]


def test_student_learns_what_only_the_teacher_knew(student: Path, toy_model: Path) -> None:
    """Insult is in no student example, so its ranking and its spans come from the teacher."""
    from moderation.scorer import Scorer

    rows = toy_rows(200, 13)
    texts = [row["text"] for row in rows]
    scorer = Scorer(student, backend="torch")
    results = scorer.score_batch(texts)
    insult = np.array([r.scores["insult"] for r in results])
    assert roc_auc(np.array([row["insult"] for row in rows]), insult) > 0.9
    hostility = np.array([r.scores["hostility"] for r in results])
    assert roc_auc(np.array([row["hostility"] for row in rows]), hostility) > 0.9
    teacher = np.array([r.scores["insult"] for r in Scorer(toy_model, backend="torch").score_batch(texts)])
    assert np.corrcoef(insult, teacher)[0, 1] > 0.8
    spans = {label.name for label in read_model_info(student).labels if label.spans}
    assert spans == {label.name for label in read_model_info(toy_model).labels if label.spans}


def test_student_exports_to_onnx_with_the_same_scores(student: Path) -> None:
    from moderation.scorer import Scorer

    texts = [row["text"] for row in toy_rows(30, 14)]
    torch_raw = Scorer(student, backend="torch").raw_batch(texts)
    onnx_raw = Scorer(student, backend="onnx", precision="fp32").raw_batch(texts)
    np.testing.assert_allclose(np.stack([r.logits for r in onnx_raw]),
                               np.stack([r.logits for r in torch_raw]), atol=1e-4)


def test_student_refuses_another_base(student: Path, tiny_base: Path, tmp_path: Path) -> None:
    """Its embeddings are the base's own, so a different base must not load under it."""
    from safetensors.torch import load_file, save_file

    from moderation.scorer import Scorer

    other = tmp_path / "other-base"
    shutil.copytree(tiny_base, other)
    weights = load_file(str(other / "model.safetensors"))
    name = next(n for n in sorted(weights) if "word_embeddings" in n)
    weights[name] = weights[name] + 0.01
    save_file(weights, str(other / "model.safetensors"))
    with pytest.raises(ModelLoadError, match="does not match the one this model was trained on"):
        Scorer(student, base=str(other))


def test_a_bad_layer_count_is_refused() -> None:
    from moderation.errors import ConfigError
    from training.config import TrainingArguments

    with pytest.raises(ConfigError, match="layers must be at least 1"):
        TrainingArguments(out="x", layers=0)
