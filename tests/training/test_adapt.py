"""Adapting a trained model to a site's labelled comments (``train --init``), on the tiny BERT.

The site: a circus town's forum, where "clown" is a job, not an insult. The toy model learnt
that a clown is an insult and hostile; the site's examples say otherwise, and keep the other
hostile words hostile.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moderation.errors import ConfigError, DataError
from moderation.modeldir import read_model_info
from tests.tiny_model import FILLER, HOSTILE, INSULTS, toy_rows, write_jsonl

ADAPT: dict[str, Any] = dict(epochs=3, batch_size=16, max_length=32, learning_rate=3e-3,
                             head_learning_rate=0.05, threads=1, seed=3)


def circus_rows(n: int, seed: int) -> list[dict]:
    """Calm posts naming clowns, hostile posts with the other hostile words and insults
    (spans on those), and plain posts. No row says anything of threats."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        words = [rng.choice(FILLER) for _ in range(rng.randint(6, 12))]
        kind = i % 3
        bad = "" if kind != 1 else rng.choice([*HOSTILE, "idiot", "moron"])
        if kind == 0:
            words.insert(rng.randint(0, len(words)), "clown")
        if bad:
            words.insert(rng.randint(0, len(words)), bad)
        text = " ".join(words)
        row = {"text": text, "hostility": int(bool(bad)), "insult": int(bad in INSULTS)}
        if bad:
            start = (" " + text + " ").index(f" {bad} ")
            row["spans"] = [{"start": start, "end": start + len(bad), "label": "hostility"}]
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def adapted(toy_model: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    from training.config import TrainingArguments
    from training.trainer import train

    root = tmp_path_factory.mktemp("adapt")
    site = write_jsonl(root / "circus.jsonl", circus_rows(150, 40))
    logged: list[str] = []
    out = train(TrainingArguments(init=str(toy_model), data=[str(site)], out=str(root / "circus"),
                                  **ADAPT), log=logged.append)
    return out, logged


def test_adapting_keeps_the_labels_and_changes_the_weights(adapted: tuple[Path, list[str]],
                                                           toy_model: Path) -> None:
    out, _ = adapted
    before, after = read_model_info(toy_model), read_model_info(out)
    assert after.label_names == before.label_names == ["hostility", "insult", "threat"]
    assert (after.base_name, after.finetune, after.lora) == (before.base_name, "lora", before.lora)
    assert (after.max_length, after.stride) == (before.max_length, before.stride)
    for name in ("adapter_model.safetensors", "heads.safetensors"):
        assert (out / name).read_bytes() != (toy_model / name).read_bytes(), name
    # the start's thresholds are kept; the calibration of a label validation can fit moves
    assert after.thresholds == before.thresholds
    assert after.label("hostility").scale != before.label("hostility").scale
    # a label the site does not annotate keeps the start's calibration: its scores were taught
    assert (after.label("threat").scale, after.label("threat").bias) == (
        before.label("threat").scale, before.label("threat").bias)
    assert after.label("hostility").spans
    settings = json.loads((out / "training_config.json").read_text())
    assert settings["init"] == str(toy_model) and settings["lora_alpha"] == before.lora["alpha"]
    card = (out / "README.md").read_text()
    assert f"Adapted from the model `{toy_model}`" in card and "site data" in card


def test_replay_mixes_in_the_start_models_own_training_data(adapted: tuple[Path, list[str]]) -> None:
    _, logged = adapted
    replayed = [line for line in logged if line.startswith("replay: ") and " of toy's " in line]
    assert len(replayed) == 1, logged
    # as many replayed as site training examples: 150 less 20% held out, less 10% validation
    assert replayed[0].startswith("replay: 108 of toy's 400 training and 12 of its 120 validation")
    assert any(line.startswith("216 training (108 site, 108 replayed), 24 validation and 30 "
                               "held-out") for line in logged), logged


def test_before_after_table_is_written_and_shows_what_changed(adapted: tuple[Path, list[str]]) -> None:
    out, logged = adapted
    table = json.loads((out / "adaptation.json").read_text())
    assert table["examples"] == 30
    assert table["models"]["after"]["path"] == str(out)
    hostility = table["labels"]["hostility"]
    assert hostility["known"] == 30 and hostility["positives"] == 10
    for side in ("before", "after"):
        assert 0 <= hostility[side]["roc_auc"] <= 1 and 0 <= hostility[side]["average_precision"] <= 1
        assert 0 <= hostility[side]["review_rate"] <= 1
        assert table["any_label"][side]["review_rate"] >= hostility[side]["review_rate"]
    # no site row names a threat, but a calm one is known to be none: nothing to rank
    threat = table["labels"]["threat"]
    assert (threat["known"], threat["positives"], threat["after"]["roc_auc"]) == (20, 0, None)
    # the clowns stop being sent to review
    assert hostility["after"]["review_rate"] < hostility["before"]["review_rate"]
    assert hostility["after"]["roc_auc"] > hostility["before"]["roc_auc"]
    printed = next(entry for entry in logged if entry.startswith("before: toy")).splitlines()
    assert "30 held-out site examples" in printed[0]
    row = next(line for line in printed if line.startswith("hostility "))
    assert row.split()[3:5] == [f"{hostility[side]['roc_auc']:.3f}" for side in ("before", "after")]
    assert printed[-1].startswith("(any label)")


def test_the_adapted_model_loads_and_scores(adapted: tuple[Path, list[str]], toy_model: Path) -> None:
    from moderation.scorer import Scorer

    out, _ = adapted
    clowns = [row["text"] for row in circus_rows(30, 41) if "clown" in row["text"].split()]
    scorer = Scorer(out, backend="torch")
    results = scorer.score_batch(clowns)
    assert all(set(r.scores) == {"hostility", "insult", "threat"} for r in results)
    after = np.mean([r.scores["insult"] for r in results])
    before = np.mean([r.scores["insult"] for r in Scorer(toy_model, backend="torch").score_batch(clowns)])
    assert after < before
    # and an insult the site still calls one is still caught
    hostile = [row["text"] for row in toy_rows(60, 42) if row["insult"] and "clown" not in row["text"]]
    assert np.mean([r.scores["hostility"] for r in scorer.score_batch(hostile)]) > 0.5


def test_replay_zero_trains_on_the_site_alone(toy_model: Path, tmp_path: Path) -> None:
    from training.config import TrainingArguments
    from training.trainer import train

    site = write_jsonl(tmp_path / "circus.jsonl", circus_rows(40, 43))
    logged: list[str] = []
    train(TrainingArguments(init=str(toy_model), data=[str(site)], out=str(tmp_path / "m"),
                            replay=0, **{**ADAPT, "epochs": 1}), log=logged.append)
    assert any(line.startswith("replay: none") for line in logged)
    assert not any(" of toy's " in line for line in logged)
    assert (tmp_path / "m" / "adaptation.json").is_file()


def test_settings_that_contradict_the_start_model_are_refused(toy_model: Path, tmp_path: Path) -> None:
    from training.config import TrainingArguments
    from training.trainer import train

    site = write_jsonl(tmp_path / "circus.jsonl", circus_rows(20, 44))
    common: dict[str, Any] = dict(init=str(toy_model), data=[str(site)], out=str(tmp_path / "m"),
                                  threads=1)
    with pytest.raises(ConfigError, match=r"keeps the labels of .*drop --labels"):
        train(TrainingArguments(labels=["hostility"], **common))
    with pytest.raises(ConfigError, match="is a LoRA model"):
        train(TrainingArguments(full=True, **common))
    with pytest.raises(ConfigError, match="takes no teacher or recipe"):
        TrainingArguments(teacher=[str(toy_model)], **common)
    with pytest.raises(ConfigError, match="holdout_fraction must be between 0 and 1"):
        TrainingArguments(holdout_fraction=1.0, **common)
    unrelated = write_jsonl(tmp_path / "other.jsonl", [{"text": "the river", "spam": 1}] * 5)
    with pytest.raises(DataError,
                       match=r"other.jsonl: no row annotates any of the model's labels \(columns ignored: spam\)"):
        train(TrainingArguments(**{**common, "data": [str(unrelated)]}))


def test_checkpoints_made_before_adapting_existed_still_resume() -> None:
    """The settings adapting added stay out of the checkpoint key until set."""
    from training.checkpoints import config_key
    from training.config import TrainingArguments

    plain = json.loads(config_key(TrainingArguments(out="m", data=["d.jsonl"])))
    assert not {"init", "replay", "holdout_fraction"} & set(plain)
    assert "lora_r" in plain and "resume" not in plain
    adapting = json.loads(config_key(TrainingArguments(out="m", data=["d.jsonl"], init="x", replay=5)))
    assert adapting["init"] == "x" and adapting["replay"] == 5


def test_a_text_of_the_site_is_never_replayed(toy_model: Path, toy_files: tuple[Path, Path]) -> None:
    """So that no held-out site text is trained or calibrated on as the start model's data."""
    from training.adapt import replay
    from training.config import TrainingArguments

    start = read_model_info(toy_model)
    site = {json.loads(line)["text"] for path in toy_files
            for line in path.read_text().splitlines()[::2]}
    args = TrainingArguments(init=str(toy_model), data=["site.jsonl"], out="m", replay=1000)
    train, val, source = replay(args, start, site, 300, 30, lambda message: None)
    assert source == "train.jsonl"
    assert train and val and not {ex.text for ex in [*train, *val]} & site
    rows = [json.loads(line)["text"] for line in toy_files[0].read_text().splitlines()]
    assert len(train) == sum(text not in site for text in rows)  # all of the rest: 1000 > 400


def test_the_start_models_scores_are_taught_where_the_site_is_silent(toy_model: Path,
                                                                      tmp_path: Path) -> None:
    from moderation import compat
    from moderation.labelled import Example
    from moderation.metrics import sigmoid
    from moderation.modeldir import resolve_base
    from moderation.scorer import Scorer
    from training.adapt import inherit, remember
    from training.config import TrainingArguments
    from training.data import encode

    start = read_model_info(toy_model)
    args = TrainingArguments(init=str(toy_model), data=["site.jsonl"], out=str(tmp_path))
    inherit(args, start)
    site = Example("the clown juggles at the fair", {"hostility": 0.0, "insult": 0.0})
    replayed = Example("you idiot get lost", {"hostility": 1.0, "insult": 1.0, "threat": 0.0})
    tokenizer = compat.load_tokenizer(resolve_base(args.base))
    data = encode([site, replayed], tokenizer, start.label_names, 32)
    spans = remember(start, data, 1, tokenizer.pad_token_id or 0, args, lambda message: None)

    assert spans == [i for i, label in enumerate(start.labels) if label.spans]
    raw = Scorer(toy_model, backend="torch").raw_batch([site.text, replayed.text])
    teacher = sigmoid(np.stack([r.logits for r in raw]))
    threat = start.label_names.index("threat")
    assert data[0].soft is not None and data[1].soft is not None
    # the site's own answers where it gives them, the start model's score where it is silent
    for name in ("hostility", "insult"):
        assert data[0].soft[start.label_names.index(name)] == 0.0
    assert data[0].soft[threat] == pytest.approx(teacher[0, threat], abs=1e-4)
    # on a replayed text, the start model's scores for every label, not the text's labels
    assert data[1].soft == pytest.approx(teacher[1], abs=1e-4)
    assert data[1].soft[threat] != 0.0

    args.distill_weight = 0.0
    plain = encode([site], tokenizer, start.label_names, 32)
    assert remember(start, plain, 1, 0, args, lambda message: None) == []
    assert plain[0].soft is None


def test_what_the_site_does_not_annotate_moves_less_when_the_start_is_remembered(
        toy_model: Path, tmp_path: Path) -> None:
    from moderation.scorer import Scorer
    from training.config import TrainingArguments
    from training.trainer import train

    site = write_jsonl(tmp_path / "circus.jsonl", circus_rows(60, 44))
    texts = [row["text"] for row in toy_rows(80, 45)]

    def threat_logits(model: Path) -> np.ndarray:
        scorer = Scorer(model, backend="torch")
        column = scorer.labels.index("threat")
        return np.array([r.logits[column] for r in scorer.raw_batch(texts)])

    before = threat_logits(toy_model)
    moved = {}
    for weight in (0.0, 1.0):
        out = train(TrainingArguments(init=str(toy_model), data=[str(site)],
                                      out=str(tmp_path / f"w{weight}"), replay=0, distill_weight=weight,
                                      **ADAPT), log=lambda message: None)
        moved[weight] = float(np.abs(threat_logits(out) - before).mean())
    # The circus site says nothing of threats: remembering keeps the threat scores nearer
    assert moved[1.0] < moved[0.0], moved


def test_a_calm_site_comment_leaves_the_members_to_the_start_model(toy_model: Path,
                                                                   tmp_path: Path) -> None:
    """A site's "not hostile" is taught as such; what it would imply for insult or threat is
    left unknown, so the start model's scores stand for it (``remember``)."""
    from training.adapt import site_data
    from training.config import TrainingArguments

    site = tmp_path / "site.jsonl"
    rows = [{"text": f"the parade passes the bakery at noon {i}", "hostility": 0} for i in range(30)]
    rows += [{"text": f"you clown number {i}", "insult": 1} for i in range(30)]
    site.write_text("".join(json.dumps(row) + "\n" for row in rows))
    args = TrainingArguments(init=str(toy_model), data=[str(site)], out=str(tmp_path / "m"))
    train, val, held_out = site_data(args, read_model_info(toy_model), lambda message: None)
    examples = [*train, *val, *held_out]
    assert len(examples) == 60
    for ex in examples:
        if ex.text.startswith("the parade"):
            assert ex.labels == {"hostility": 0.0}
        else:
            assert ex.labels == {"insult": 1.0, "hostility": 1.0}


def test_start_share_moves_the_trained_weights_back_towards_the_start(
        adapted: tuple[Path, list[str]], toy_model: Path, tmp_path: Path) -> None:
    """The same training, then every trained weight half way back to the start model's."""
    from safetensors.numpy import load_file

    from training.config import TrainingArguments
    from training.trainer import train

    trained, _ = adapted
    site = write_jsonl(tmp_path / "circus.jsonl", circus_rows(150, 40))
    logged: list[str] = []
    out = train(TrainingArguments(init=str(toy_model), data=[str(site)], out=str(tmp_path / "half"),
                                  start_share=0.5, **ADAPT), log=logged.append)
    assert "weights moved 0.5 of the way back to toy's" in logged
    for name in ("adapter_model.safetensors", "heads.safetensors"):
        start, full, half = (load_file(str(model / name)) for model in (toy_model, trained, out))
        assert set(half) == set(start) == set(full)
        moved = [key for key in half if not np.array_equal(start[key], full[key])]
        assert moved, name
        for key in moved:
            np.testing.assert_allclose(half[key], (start[key] + full[key]) / 2, atol=1e-6, err_msg=key)
    with pytest.raises(ConfigError, match="start_share must be at least 0 and below 1"):
        TrainingArguments(init=str(toy_model), data=[str(site)], out="m", start_share=1.0)
    with pytest.raises(ConfigError, match=r"start_share .* needs --init"):
        TrainingArguments(data=[str(site)], out="m", start_share=0.5)
