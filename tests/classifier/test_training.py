"""Training, saving, loading and evaluating on a tiny random BERT."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from moderation.errors import ModelLoadError
from moderation.modeldir import read_model_info
from tests.tiny_model import FILLER, INSULTS, toy_rows


def test_learns_the_toy_task_and_tags_its_spans(toy_model: Path) -> None:
    metrics = json.loads((toy_model / "metrics.json").read_text())["labels"]
    assert metrics["hostility"]["roc_auc"] > 0.9
    assert metrics["insult"]["roc_auc"] > 0.9
    assert metrics["hostility"]["span_f1"] > 0.6
    info = read_model_info(toy_model)
    assert info.label("hostility").spans and not info.label("insult").spans
    assert "experimental: 0 positive" in info.label("threat").description
    assert "experimental" not in info.label("hostility").description
    # the model directory describes itself
    for name in ("config.json", "labels.json", "adapter_model.safetensors", "heads.safetensors",
                 "metrics.json", "training_config.json", "README.md"):
        assert (toy_model / name).is_file(), name
    card = (toy_model / "README.md").read_text()
    assert "ROC-AUC" in card and "hostility" in card and "Known limits" in card
    assert re.search(r"Experimental labels \(fewer than 100 training examples\): .*threat", card)
    assert not list(toy_model.glob("*.bin")) and not list(toy_model.rglob("*.pkl"))


def test_scores_and_spans_point_at_the_words(toy_model: Path) -> None:
    from moderation.scorer import Scorer

    scorer = Scorer(toy_model)
    assert scorer.labels == ["hostility", "insult", "threat"]
    rows = toy_rows(60, 99)  # unseen texts of the toy task
    results = scorer.score_batch([r["text"] for r in rows])
    agree = sum(("hostility" in scorer.flags(got)) == bool(row["hostility"])
                for row, got in zip(rows, results, strict=True))
    assert agree >= 54  # 90% of unseen texts flagged right at the model's own threshold
    from moderation.metrics import roc_auc

    insult = np.array([row["insult"] for row in rows])
    assert roc_auc(insult, np.array([got.scores["insult"] for got in results])) > 0.9
    pointed = flagged = 0
    for row, got in zip(rows, results, strict=True):
        found = {row["text"][s.start:s.end] for s in got.spans if s.label == "hostility"}
        if "hostility" not in scorer.flags(got):
            assert not found  # no evidence is shown for a label that is not flagged
        elif row["hostility"]:
            flagged += 1
            gold = {row["text"][s["start"]:s["end"]] for s in row["spans"]}
            pointed += gold == found  # the evidence is exactly the hostile word
    assert flagged >= 20 and pointed >= 0.8 * flagged


def test_long_text_is_scored_in_windows_not_truncated(toy_model: Path) -> None:
    from moderation.scorer import Scorer

    scorer = Scorer(toy_model)
    assert scorer.info.max_length == 32
    filler = " ".join(["people walk along the river"] * 30)  # far beyond one 32-token window
    text = f"{filler} {INSULTS[0]} {filler}"
    result = scorer.score(text)
    assert "hostility" in scorer.flags(result)
    spans = [s for s in result.spans if s.label == "hostility"]
    best = max(spans, key=lambda s: s.score)  # the strongest evidence, mapped back to the text
    assert text[best.start:best.end] == INSULTS[0]
    assert best.start == len(filler) + 1


def test_save_then_load_gives_identical_scores(tiny_base: Path, tmp_path: Path) -> None:
    import torch

    from moderation import compat
    from moderation.modeldir import LabelInfo, ModelInfo, base_weights_sha256, write_model_info
    from moderation.network import save_network
    from moderation.scorer import Scorer
    from training.config import TrainingArguments
    from training.model import build_network

    args = TrainingArguments(out=str(tmp_path), base=str(tiny_base), epochs=1)
    network = build_network(args, tiny_base, 2)
    with torch.no_grad():  # make the adapter non-trivial, as after training
        for name, param in network.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)
    network.eval()
    save_network(network, tmp_path, "lora")
    write_model_info(ModelInfo(
        path=tmp_path, name="t", version="1",
        labels=(LabelInfo("a", "a"), LabelInfo("b", "b")),
        base_name=str(tiny_base), base_sha256=base_weights_sha256(tiny_base),
        max_length=64, stride=8,
    ))
    text = "the river runs past our small town"
    tokenizer = compat.load_tokenizer(tiny_base)
    enc = tokenizer([text], return_tensors="pt")
    with torch.no_grad():
        expected = network(enc["input_ids"], enc["attention_mask"])[0].numpy()[0]
    raw = Scorer(tmp_path, backend="torch").raw_batch([text])[0]
    np.testing.assert_allclose(raw.logits, expected, atol=1e-5)
    assert abs(float(expected[0])) > 1e-3


def test_masked_label_does_not_move(tiny_base: Path, toy_files: tuple[Path, Path], tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file

    from training.config import TrainingArguments
    from training.model import build_network

    args = TrainingArguments(
        data=[str(toy_files[0])], out=str(tmp_path / "m"), base=str(tiny_base),
        # slogans: a label the toy data never answers (threat would be known: a calm text is
        # known to be no threat)
        labels=["hostility", "insult", "slogans"], max_steps=5, batch_size=16, max_length=32,
        score_max_length=32, stride=8, threads=2,
    )
    initial = build_network(args, tiny_base, 3).head_state()  # same seed -> same initial heads
    from training.trainer import train

    train(args, log=lambda m: None)
    heads = load_file(str(tmp_path / "m" / "heads.safetensors"))
    threat = 2
    for name in ("sequence_head.weight", "token_head.weight"):
        assert torch.equal(heads[name][threat], initial[name][threat]), name
        assert not torch.equal(heads[name][0], initial[name][0]), name
    assert not torch.equal(heads["sequence_head.bias"][1], initial["sequence_head.bias"][1])
    assert torch.equal(heads["sequence_head.bias"][threat], initial["sequence_head.bias"][threat])


def _train_cmd(data: Path, val: Path, base: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "moderation.cli", "train", "--data", str(data), "--validation", str(val),
            "-o", str(out), "--base", str(base), "--labels", "hostility,insult",
            "--max-steps", "400", "--batch-size", "8", "--max-length", "32", "--checkpoint-every", "5",
            "--threads", "1", "--seed", "7", *extra]


def test_killed_run_resumes_to_the_same_model(tiny_base: Path, toy_files: tuple[Path, Path],
                                              tmp_path: Path) -> None:
    from moderation.scorer import Scorer

    data, val = toy_files
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    whole = tmp_path / "whole"
    subprocess.run(_train_cmd(data, val, tiny_base, whole), check=True, env=env, capture_output=True)

    cut = tmp_path / "cut"
    proc = subprocess.Popen(_train_cmd(data, val, tiny_base, cut), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = cut / "checkpoint" / "state.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not state.exists() and proc.poll() is None:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = json.loads(state.read_text())["step"]
    assert 0 < killed_at < 400, "the run finished before it could be killed"
    assert not (cut / "heads.safetensors").exists()

    resumed = subprocess.run(_train_cmd(data, val, tiny_base, cut, "--resume"), env=env,
                             capture_output=True, text=True, check=True)
    assert f"resumed from {cut / 'checkpoint'} at step" in resumed.stderr
    texts = [r["text"] for r in toy_rows(20, 5)]
    a = np.stack([r.logits for r in Scorer(whole, backend="torch").raw_batch(texts)])
    b = np.stack([r.logits for r in Scorer(cut, backend="torch").raw_batch(texts)])
    np.testing.assert_allclose(a, b, atol=1e-4)


def _three_steps(data: Path, val: Path, base: Path, out: Path) -> list[str]:
    return ["train", "--data", str(data), "--validation", str(val), "-o", str(out), "--base",
            str(base), "--labels", "hostility", "--max-steps", "3", "--batch-size", "8",
            "--max-length", "32", "--threads", "1"]


def test_resume_with_other_settings_is_refused(tiny_base: Path, toy_files: tuple[Path, Path],
                                                tmp_path: Path) -> None:
    from moderation.cli import main

    data, val = toy_files
    out = tmp_path / "m"
    args = _three_steps(data, val, tiny_base, out)
    assert main(args) == 0
    assert main([*args[:-4], "--batch-size", "4", "--max-length", "32", "--threads", "1", "--resume"]) == 2


def test_finished_run_resumes_with_other_scoring_windows(tiny_base: Path, toy_files: tuple[Path, Path],
                                                         tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from moderation.cli import main
    from moderation.modeldir import read_model_info

    data, val = toy_files
    out = tmp_path / "m"
    args = _three_steps(data, val, tiny_base, out)
    assert main(args) == 0
    assert read_model_info(out).max_length == 256
    weights = {p.name: p.read_bytes() for p in out.glob("*.safetensors")}
    windows = tmp_path / "windows.toml"
    windows.write_text("score_max_length = 48\nstride = 16\n", encoding="utf-8")
    capsys.readouterr()
    # the trained weights are kept; calibration and thresholds are tuned again on the new windows
    assert main([*args, "--config", str(windows), "--resume"]) == 0
    assert "resumed from" in capsys.readouterr().err
    info = read_model_info(out)
    assert (info.max_length, info.stride) == (48, 16)
    assert {p.name: p.read_bytes() for p in out.glob("*.safetensors")} == weights


def test_base_weight_mismatch_is_refused(toy_model: Path, tiny_base: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    from moderation.scorer import Scorer

    other = tmp_path / "other-base"
    shutil.copytree(tiny_base, other)
    weights = load_file(str(other / "model.safetensors"))
    first = sorted(weights)[0]
    weights[first] = weights[first] + 0.01
    save_file(weights, str(other / "model.safetensors"))
    with pytest.raises(ModelLoadError, match="does not match the one this model was trained on"):
        Scorer(toy_model, base=str(other))


def test_evaluate_refuses_data_that_annotates_none_of_the_models_labels(
        toy_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from moderation.cli import main

    data = tmp_path / "typo.csv"
    data.write_text("text,Insults\nyou absolute clown,1\nthe river is high,0\n", encoding="utf-8")
    out = tmp_path / "eval.json"
    assert main(["evaluate", "--model", str(toy_model), "--data", str(data), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "typo.csv: no row annotates any of the model's labels" in err
    assert "Insults (did you mean insult?)" in err and not out.exists()


def test_evaluate_command_prints_and_saves_the_table(toy_model: Path, toy_files: tuple[Path, Path],
                                                     tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from moderation.cli import main

    out = tmp_path / "eval.json"
    assert main(["evaluate", "--model", str(toy_model), "--data", str(toy_files[1]),
                 "--compare", str(toy_model), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "ROC-AUC" in printed and "AUC A" in printed and "hostility" in printed
    saved = json.loads(out.read_text())
    assert saved["backend"] == "onnx-int8"  # what `moderation score` runs by default
    a, b = saved["a"]["labels"]["hostility"], saved["b"]["labels"]["hostility"]
    # evidence is measured on the texts that show the label: the hostile ones
    assert a == b and a["known"] == 120 and a["span_examples"] == a["support"] > 0
    # threat is not annotated, but a calm text is known to be no threat either
    assert set(saved["a"]["labels"]) == {"hostility", "insult", "threat"}
    assert saved["a"]["labels"]["threat"]["support"] == 0
    assert "decisions at the model's review thresholds" in printed
    assert saved["a_decisions"]["rows"][0]["calm"] + saved["a_decisions"]["rows"][0]["hostile"] == 120
    assert "what a threshold could buy" in printed
    assert [row["budget"] for row in saved["a_decisions"]["budgets"]] == [0.05, 0.10, 0.20]


def test_decision_rates_and_identity_bias_count_what_a_moderator_sees(toy_model: Path) -> None:
    from moderation.evaluate import decision_rates, identity_bias
    from moderation.labelled import Example
    from moderation.scorer import Scorer

    scorer = Scorer(toy_model, backend="torch")
    rows = toy_rows(80, 7)
    examples = [Example(row["text"], {"hostility": float(row["hostility"])},
                        source="a" if i % 2 else "b") for i, row in enumerate(rows)]
    flagged = [bool(scorer.flags(s)) for s in scorer.score_batch([e.text for e in examples])]
    by_source = {r.source: r for r in decision_rates(scorer, examples)}
    assert set(by_source) == {"a", "b"}
    for source, r in by_source.items():
        calm = [f for e, f in zip(examples, flagged, strict=True) if e.source == source and e.labels["hostility"] < 0.5]
        hostile = [f for e, f in zip(examples, flagged, strict=True)
                   if e.source == source and e.labels["hostility"] >= 0.5]
        assert r.calm == len(calm) and r.hostile == len(hostile)
        assert r.review == pytest.approx(sum(calm) / len(calm))
        assert r.caught == pytest.approx(sum(hostile) / len(hostile))
        assert r.propaganda == 0 and r.propaganda_caught is None  # the toy model has no techniques
    # A subgroup named in enough calm and hostile texts is measured; others are left out.
    named = [Example(f"{e.text} muslim", e.labels, source=e.source) for e in examples]
    bias = identity_bias(scorer, named + examples, labels=("hostility",))
    assert [(b.subgroup, b.label, b.texts) for b in bias] == [("muslim", "hostility", 80)]
    assert 0.0 <= bias[0].bpsn <= 1.0 and 0.0 <= bias[0].subgroup_auc <= 1.0


def test_review_budgets_find_the_lowest_threshold_that_keeps_to_the_budget(toy_model: Path) -> None:
    from moderation.evaluate import review_budgets
    from moderation.labelled import Example
    from moderation.scorer import Scorer

    scorer = Scorer(toy_model, backend="torch")
    rows = toy_rows(120, 11)
    examples = [Example(row["text"], {"hostility": float(row["hostility"])},
                        source="a" if i % 2 else "b") for i, row in enumerate(rows)]
    results = scorer.score_batch([e.text for e in examples])
    budgets = review_budgets(scorer, examples, budgets=(0.1, 0.3))
    assert {(r.source, r.group, r.budget) for r in budgets} == {
        (s, "hostility", b) for s in "ab" for b in (0.1, 0.3)}  # no techniques: no propaganda rows
    for r in budgets:
        mine = [(e.labels["hostility"] >= 0.5, res) for e, res in zip(examples, results, strict=True)
                if e.source == r.source]
        calm = [res for hostile, res in mine if not hostile]
        hostile = [res for is_hostile, res in mine if is_hostile]

        def flagged(res, threshold):  # any label: hostility at ``threshold``, the others at theirs
            return res.scores["hostility"] >= threshold or any(
                n != "hostility" for n in scorer.flags(res))

        def review(threshold, calm=calm):
            return sum(flagged(res, threshold) for res in calm) / len(calm)

        assert r.negatives == len(calm) and r.positives == len(hostile)
        if r.threshold is None:  # the other labels alone send more than the budget
            assert review(1.1) > r.budget and r.caught is None
            continue
        assert review(r.threshold) <= r.budget
        # one calm score lower would break the budget, unless every calm text already fits
        lower = [res.scores["hostility"] for res in calm if res.scores["hostility"] < r.threshold]
        assert r.threshold == 0.0 or review(max(lower)) > r.budget
        assert r.caught == pytest.approx(sum(flagged(res, r.threshold) for res in hostile) / len(hostile))
        assert r.caught is not None and r.caught_low is not None and r.caught_high is not None
        assert r.caught_low <= r.caught <= r.caught_high
    # a larger budget never catches less
    for source in "ab":
        small, large = (next(r for r in budgets if r.source == source and r.budget == b) for b in (0.1, 0.3))
        if small.caught is not None:
            assert large.caught is not None and large.caught >= small.caught


def test_model_card_shows_the_per_dataset_evaluation_and_its_backend(
    toy_model: Path, toy_files: tuple[Path, Path], tmp_path: Path
) -> None:
    from moderation.cli import main
    from training.card import render_model_card

    model = tmp_path / "model"
    shutil.copytree(toy_model, model)
    assert main(["evaluate", "--model", str(model), "--data", str(toy_files[1]), "--by-source",
                 "--backend", "torch", "-o", str(model / "evaluation.json")]) == 0
    # the previous version's metrics (metrics.json's form) beside these, marked where that
    # version judged a label on other texts
    metrics = json.loads((model / "metrics.json").read_text())
    old = json.loads(json.dumps(metrics))
    old["labels"]["hostility"]["roc_auc"] = 0.5
    old["labels"]["insult"]["known"] += 1
    (model / "previous.json").write_text(json.dumps({"version": "0.0.9", "metrics": old}))
    card = render_model_card(model)
    assert "ROC-AUC (0.0.9) |" in card
    table = card.split("## Validation metrics (all validation data)", 1)[1].split("\n## ", 1)[0]
    hostility, insult = (next(line for line in table.splitlines() if line.startswith(f"| {name} "))
                         for name in ("hostility", "insult"))
    assert hostility.split(" | ")[-2] == "0.500" and "*" not in hostility
    assert insult.split(" | ")[-2].endswith("*") and "\\*: 0.0.9 judged this label" in card
    section = card.split("## Validation metrics per dataset", 1)[1]
    assert "Measured by `moderation evaluate` on the torch backend." in section
    assert "### val" in section and "| hostility (spans) |" in section
    # what moving the hostility threshold could buy on validation, from decisions.json
    budgets = json.loads((model / "decisions.json").read_text())["budgets"]
    buy = card.split("### What a threshold could buy", 1)[1].split("\n## ", 1)[0]
    row = next(line for line in buy.splitlines() if line.startswith("| val | hostility |"))
    at_ten = next(b for b in budgets if b["budget"] == 0.10)
    assert f"| {at_ten['negatives']} | {at_ten['positives']} |" in row
    assert at_ten["caught"] is None or f"{100 * at_ten['caught']:.1f}% (" in row.split(" | ")[5]


def test_a_long_example_keeps_the_window_that_holds_its_evidence(tiny_base: Path) -> None:
    from moderation import compat
    from moderation.labelled import Example, Span
    from training.data import encode

    tokenizer = compat.load_tokenizer(tiny_base)
    calm = " ".join(FILLER[i % len(FILLER)] for i in range(40))
    text = f"{calm} you vile idiot"
    start = text.index("vile")
    spans = (Span(start, start + len("vile"), "hostility"),)
    with_evidence = Example(text, {"hostility": 1.0}, spans, frozenset({"hostility"}))
    without = Example(text, {"hostility": 1.0})
    early = Example(f"vile {calm}", {"hostility": 1.0}, (Span(0, 4, "hostility"),),
                    frozenset({"hostility"}))
    kept, first, early_kept = encode([with_evidence, without, early], tokenizer, ["hostility"], 16)
    words = lambda e: [text[a:b] for a, b in e.offsets if b > a]  # noqa: E731
    assert len(kept.ids) == len(first.ids) == 16
    assert kept.token_target is not None and early_kept.token_target is not None
    assert "vile" in words(kept) and kept.token_target[:, 0].sum() == 1
    assert words(first) == calm.split()[:14]  # no evidence known: the text's start, as before
    assert early_kept.offsets[1] == (0, 4) and early_kept.token_target[1, 0] == 1


def test_real_packaged_base_loads_offline() -> None:
    code = (
        "import os, sys; assert os.environ['HF_HUB_OFFLINE'] == '1';"
        "from moderation.modeldir import resolve_base, DEFAULT_BASE, base_weights_sha256;"
        "from moderation import compat; import torch;"
        "d = resolve_base(DEFAULT_BASE); enc = compat.load_encoder(d); tok = compat.load_tokenizer(d);"
        "x = tok(['a calm comment about the weather'], return_tensors='pt');"
        "h = enc(**x).last_hidden_state; print(h.shape[-1], len(base_weights_sha256(d)))"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["384", "64"]


def test_evaluate_by_source_gives_one_table_per_dataset(
    toy_model: Path, toy_files: tuple[Path, Path], tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moderation.cli import main

    other = tmp_path / "other.jsonl"
    other.write_text(toy_files[1].read_text().split("\n", 40)[-1])  # a later part of the file
    out = tmp_path / "eval.json"
    assert main(["evaluate", "--model", str(toy_model), "--data", str(toy_files[1]), str(other),
                 "--by-source", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "[val]" in printed and "[other]" in printed
    saved = json.loads(out.read_text())["a"]
    assert saved["val"]["examples"] == 120 and saved["other"]["examples"] == 80
    assert main(["evaluate", "--model", str(toy_model)]) == 2
    assert "give labelled files with --data, or --recipe" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)  # without -o the metrics are saved next to the caller
    assert main(["evaluate", "--model", str(toy_model), "--data", str(other)]) == 0
    assert json.loads((tmp_path / "evaluation-toy.json").read_text())["a"]["examples"] == 80


def test_span_f1_measures_the_evidence_whether_or_not_the_label_fires(
        toy_model: Path, toy_files: tuple[Path, Path], tmp_path: Path) -> None:
    """Recall measures whether a label fires; span F1 measures the highlights on the texts
    that show the label, so a threshold that flags nothing leaves it as it was."""
    from moderation.evaluate import evaluate
    from moderation.labelled import load_labelled
    from moderation.scorer import Scorer

    examples = load_labelled(toy_files[1])
    before = evaluate(Scorer(toy_model, backend="torch"), examples).by_label()["hostility"]
    strict = tmp_path / "strict"
    shutil.copytree(toy_model, strict)
    labels = json.loads((strict / "labels.json").read_text())
    labels["labels"]["hostility"]["threshold"] = 1.0
    (strict / "labels.json").write_text(json.dumps(labels))
    after = evaluate(Scorer(strict, backend="torch"), examples).by_label()["hostility"]
    assert after.recall == 0.0 and before.recall > 0.5
    assert before.span_f1 is not None and before.span_f1 > 0.6
    assert after.span_f1 == before.span_f1


def test_evidence_threshold_is_the_best_on_validation_and_scoring_uses_it(
        toy_model: Path, toy_files: tuple[Path, Path], tmp_path: Path) -> None:
    from moderation.evaluate import evidence, span_gold
    from moderation.labelled import load_labelled
    from moderation.metrics import span_f1
    from moderation.scorer import Scorer
    from training.thresholds import SPAN_GRID

    info = read_model_info(toy_model)
    chosen = info.label("hostility").span_threshold
    assert chosen in SPAN_GRID
    scorer = Scorer(toy_model, backend="torch")
    examples = load_labelled(toy_files[1])
    raw = scorer.raw_batch([ex.text for ex in examples])
    rows_gold = span_gold(scorer, examples, "hostility")
    index = scorer.labels.index("hostility")

    def f1(threshold: float) -> float:
        return span_f1([g for _, g in rows_gold],
                       [evidence(examples[k].text, raw[k], index, threshold) for k, _ in rows_gold])

    def highlighted(threshold: float) -> int:
        return sum(len(evidence(examples[k].text, raw[k], index, threshold)) for k, _ in rows_gold)

    # the best of the thresholds that highlight no more than the annotators did
    allowed = [t for t in SPAN_GRID if highlighted(t) <= sum(len(g) for _, g in rows_gold)]
    assert chosen in allowed and f1(chosen) == max(f1(t) for t in allowed)
    # The scorer highlights at the model's evidence threshold: one no token reaches, none.
    hostile = next(ex.text for ex in examples if ex.labels.get("hostility") == 1)
    assert scorer.score(hostile).spans
    never = tmp_path / "never"
    shutil.copytree(toy_model, never)
    labels = json.loads((never / "labels.json").read_text())
    assert labels["labels"]["hostility"]["span_threshold"] == chosen
    labels["labels"]["hostility"]["span_threshold"] = 1.01
    (never / "labels.json").write_text(json.dumps(labels))
    result = Scorer(never, backend="torch").score(hostile)
    assert "hostility" in scorer.flags(result)
    assert not [s for s in result.spans if s.label == "hostility"]


def test_a_member_label_keeps_to_the_calm_budget_where_its_f1_optimum_would_not(
        toy_model: Path, tmp_path: Path) -> None:
    from moderation.labelled import Example
    from moderation.labels import BY_NAME
    from moderation.metrics import best_threshold
    from moderation.scorer import Scorer
    from training.thresholds import tune_thresholds

    model = tmp_path / "model"
    shutil.copytree(toy_model, model)
    rows = toy_rows(200, 5)
    known = [Example(r["text"], {"insult": float(r["insult"])}
                     | ({"hostility": 1.0} if r["hostility"] else {})) for r in rows]
    # Calm comments that read like the insults: the insult head cannot tell them apart, so its
    # F1 optimum flags them; the budget (1% of 10: none) must not.
    calm = [Example(r["text"], {"hostility": 0.0}) for r in rows if r["insult"]][:10]
    tune_thresholds(model, known + calm, 32, lambda message: None)

    scorer = Scorer(model, backend="torch")
    threshold = scorer.info.label("insult").threshold
    calm_scores = [s.scores["insult"] for s in scorer.score_batch([ex.text for ex in calm])]
    assert max(calm_scores) < threshold
    scores = [s.scores["insult"] for s in scorer.score_batch([ex.text for ex in known + calm])]
    y = np.array([ex.labels["insult"] for ex in known] + [0.0] * len(calm)) >= 0.5
    f1_optimum = best_threshold(y, np.array(scores), prevalence=BY_NAME["insult"].stream_prevalence)
    assert sum(score >= f1_optimum for score in calm_scores) > 0


def test_a_member_label_too_rare_to_calibrate_still_keeps_to_the_calm_budget(
        toy_model: Path, tmp_path: Path) -> None:
    from moderation.labelled import Example
    from moderation.scorer import Scorer
    from training.thresholds import MIN_TO_TUNE, tune_thresholds

    model = tmp_path / "model"
    shutil.copytree(toy_model, model)
    rows = toy_rows(200, 5)
    insults = [r for r in rows if r["insult"]]
    # Fewer validation positives than calibration needs: the label keeps its raw score.
    known = [Example(r["text"], {"insult": 1.0, "hostility": 1.0}) for r in insults[:MIN_TO_TUNE - 1]]
    known += [Example(r["text"], {"insult": 0.0}) for r in rows if not r["insult"]]
    calm = [Example(r["text"], {"hostility": 0.0}) for r in insults[MIN_TO_TUNE:MIN_TO_TUNE + 10]]
    tune_thresholds(model, known + calm, 32, lambda message: None)

    scorer = Scorer(model, backend="torch")
    label = scorer.info.label("insult")
    assert (label.scale, label.bias) == (1.0, 0.0)
    calm_scores = [s.scores["insult"] for s in scorer.score_batch([ex.text for ex in calm])]
    assert max(calm_scores) >= 0.5  # one half, the uncalibrated default, would flag them
    assert max(calm_scores) < label.threshold
