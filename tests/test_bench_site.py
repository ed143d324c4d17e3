"""bench/site.py end to end on the tiny BERT: a model trained on two recipe sources written here
in their upstream layouts (standing in for the data directory), adapted to one of them."""

from __future__ import annotations

import csv
import json
import random
import tempfile
from pathlib import Path

import pytest

from bench.site import deal, main, part_sizes
from moderation.errors import ConfigError
from moderation.labelled import Example
from tests.tiny_model import FILLER, HOSTILE, INSULTS, toy_rows, write_jsonl

UC_COLUMNS = ("antagonize", "condescending", "dismissive", "sarcastic", "hostile")


def _sentence(rng: random.Random, extra: str = "") -> str:
    words = [rng.choice(FILLER) for _ in range(rng.randint(6, 12))]
    if extra:
        words.insert(rng.randint(0, len(words)), extra)
    return " ".join(words)


def write_data_dir(root: Path) -> Path:
    """Unhealthy Conversations' and Davidson et al.'s file layouts with toy comments: an insult
    word makes a comment uncivil (dismissive), a hostile word hostile (and, in the tweets,
    offensive; with both, hateful)."""
    rng = random.Random(5)
    uc = root / "unhealthy-conversations"
    uc.mkdir(parents=True)
    with (uc / "val.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["comment", *(f"{c}{s}" for c in UC_COLUMNS for s in ("", ":confidence"))])
        for i in range(400):
            kind = i % 5  # 0: hostile and uncivil, 1: uncivil, else calm
            text = _sentence(rng, rng.choice(HOSTILE) if kind == 0 else rng.choice(INSULTS) if kind == 1 else "")
            values = {"dismissive": int(kind in (0, 1)), "hostile": int(kind == 0)}
            writer.writerow([text, *(v for c in UC_COLUMNS for v in (values.get(c, 0), "1.0"))])
    davidson = root / "davidson2017"
    davidson.mkdir()
    with (davidson / "labeled_data.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["tweet", "class"])
        for i in range(300):
            kind = i % 3
            bad = {0: f"{rng.choice(HOSTILE)} {rng.choice(INSULTS)}", 1: rng.choice(HOSTILE)}.get(kind, "")
            writer.writerow([_sentence(rng, bad), kind])
    return root


@pytest.fixture(scope="module")
def recipe_model(tiny_base: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A model trained on the two written sources through their recipes, and the data dir."""
    from training.config import TrainingArguments
    from training.trainer import train

    root = tmp_path_factory.mktemp("site-bench")
    data = write_data_dir(root / "data")
    out = train(TrainingArguments(
        recipe="unhealthy-conversations,davidson2017", data_dir=str(data), out=str(root / "toy-news"),
        base=str(tiny_base), labels=["hostility", "incivility", "identity_attack"], val_fraction=0.3,
        epochs=4, batch_size=16, max_length=32, score_max_length=32, stride=8, learning_rate=3e-3,
        lora_alpha=64, head_learning_rate=0.1, threads=1), log=lambda message: None)
    return out, data


def test_the_site_run_measures_both_models_and_writes_its_tables(
        recipe_model: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    model, data = recipe_model
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    settings = tmp_path / "adapt.toml"
    settings.write_text("epochs = 2\nbatch_size = 16\nmax_length = 32\n", encoding="utf-8")
    out = tmp_path / "site.json"
    assert main(["--model", str(model), "--data-dir", str(data), "--backend", "torch",
                 "--threads", "1", "--max-per-source", "60", "--train-config", str(settings),
                 "--repeats", "2", "-o", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))

    # 30% of 400 comments is the model's validation split of the site: 120, dealt 5 : 3 : 3
    site = result["site"]
    assert (site["source"], site["comments"]) == ("unhealthy-conversations", 120)
    assert (site["adapt"], site["calibrate"], site["evaluate"]) == (55, 33, 32)
    assert site["labels"] == ["hostility", "incivility"]  # not the recipe's propaganda negatives
    assert result["target"] == {"precision": 0.2}
    assert [run["seed"] for run in result["runs"]] == [0, 1]
    for run in result["runs"]:
        for row in run["headline"].values():
            assert row["known"] == 32 and row["positives"] > 0
            for side in ("before", "after"):
                measured = row[side]
                assert 0 <= measured["roc_auc"] <= 1 and 0 <= measured["average_precision"] <= 1
                assert 0 <= measured["review_rate"] <= 1 and 0 < measured["threshold"] <= 1
            assert row["roc_auc_change"] == pytest.approx(row["after"]["roc_auc"] - row["before"]["roc_auc"])
            low, high = row["roc_auc_change_ci"]
            assert low <= high
        assert set(run["seconds"]) == {"adapt", "calibrate and measure", "forgetting"}
    # the runs deal differently: the same model, scored on other held-out comments
    first, second = (run["headline"]["incivility"]["before"] for run in result["runs"])
    assert (first["roc_auc"], first["review_rate"]) != (second["roc_auc"], second["review_rate"])

    summary = result["summary"]
    for name, row in summary["headline"].items():
        changes = [run["headline"][name]["roc_auc_change"] for run in result["runs"]]
        assert row["roc_auc_change_runs"] == changes
        assert row["roc_auc_change"] == pytest.approx(sum(changes) / 2)
        assert row["before"]["calibrated_runs"] + len(row["before"]["kept_because"]) == 2

    # forgetting: the other source only, at most 60 of its texts, the labels it annotates
    rows = summary["forgetting"]
    assert {r["source"] for r in rows} == {"davidson2017"}
    assert {r["label"] for r in rows} == {"hostility", "identity_attack"}
    for i, r in enumerate(rows):
        each = [run["forgetting"][i]["change"] for run in result["runs"]]
        assert r["known"] <= 60 and r["change"] == pytest.approx(sum(each) / 2)
        assert r["worst_change"] == min(each)

    targets = result["targets"]
    assert set(targets) == {"site_roc_auc", "forgetting", "calibration"}
    judged = [r for r in rows if r["positives"] >= 20]
    assert judged and targets["forgetting"]["judged"] == len(judged)
    assert targets["forgetting"]["pass"] is (min(r["change"] for r in judged) >= -0.01)
    changes = [row["roc_auc_change"] for row in summary["headline"].values()]
    assert targets["site_roc_auc"]["pass"] is all(c >= 0.03 for c in changes)
    for check in targets["calibration"]["checks"]:
        p = check["measured"]
        assert check["pass"] is (p is not None and abs(p - 0.2) <= 0.05)

    printed = capsys.readouterr().out
    assert "| label | positives | ROC-AUC before | after | change (each run) |" in printed
    assert "| davidson2017 | hostility |" in printed
    assert "| each site label's ROC-AUC rises by >= 0.03 |" in printed
    assert list(scratch.iterdir()) == []  # the snapshot, the parts and the adapted model are gone


def test_a_source_the_model_never_trained_on_is_a_site_in_full(
        recipe_model: tuple[Path, Path], tiny_base: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from training.config import TrainingArguments
    from training.trainer import train

    _, data = recipe_model
    model = train(TrainingArguments(
        recipe="davidson2017", data_dir=str(data), out=str(tmp_path / "tweets-only"),
        base=str(tiny_base), labels=["hostility", "incivility", "identity_attack"], val_fraction=0.3,
        epochs=2, batch_size=16, max_length=32, score_max_length=32, stride=8, learning_rate=3e-3,
        lora_alpha=64, head_learning_rate=0.1, threads=1), log=lambda message: None)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    settings = tmp_path / "adapt.toml"
    settings.write_text("epochs = 1\nbatch_size = 16\nmax_length = 32\n", encoding="utf-8")
    out = tmp_path / "site.json"
    assert main(["--model", str(model), "--source", "unhealthy-conversations", "--data-dir", str(data),
                 "--backend", "torch", "--threads", "1", "--max-site", "220", "--adapt", "60",
                 "--calibrate", "60", "--max-per-source", "40", "--train-config", str(settings),
                 "-o", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))

    # not its validation split (120 of 400) but all of it, thinned to 220 with the mix kept:
    # 80 hostile, 80 more uncivil and 240 calm comments become 44, 44 and 132
    site = result["site"]
    assert (site["comments"], site["adapt"], site["calibrate"], site["evaluate"]) == (220, 60, 60, 100)
    headline = result["runs"][0]["headline"]
    assert headline["hostility"]["positives"] == 20 and headline["incivility"]["positives"] == 40
    # forgetting is measured on the model's own sources, which the site is not one of
    assert {r["source"] for r in result["summary"]["forgetting"]} == {"davidson2017"}


def test_a_labelled_file_can_be_the_site(toy_model: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Without a recipe behind the model, forgetting is said to be unmeasured, not skipped quietly."""
    site = write_jsonl(tmp_path / "forum.jsonl",
                       [{k: v for k, v in row.items() if k != "spans"} for row in toy_rows(90, 7)])
    out = tmp_path / "site.json"
    assert main(["--model", str(toy_model), "--site", str(site), "--adapt", "40", "--calibrate", "25",
                 "--review-rate", "0.3", "--backend", "torch", "--threads", "1", "-o", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["site"]["source"] == "forum"
    assert (result["site"]["adapt"], result["site"]["calibrate"], result["site"]["evaluate"]) == (40, 25, 25)
    assert result["site"]["labels"] == ["hostility", "insult"]
    assert result["summary"]["forgetting"] == [] and result["runs"][0]["forgetting"] == []
    assert result["forgetting"]["about"].startswith("not measured")
    assert result["targets"]["forgetting"]["pass"] is None
    checks = result["targets"]["calibration"]["checks"]
    assert [c["model"] for c in checks] == ["before", "after"]
    assert [c["measured"] for c in checks] == [result["runs"][0]["review_rate"][side]
                                               for side in ("before", "after")]
    assert all(c["pass"] is (abs(c["measured"] - 0.3) <= 0.05) for c in checks)
    assert "| not measured |" in capsys.readouterr().out


def test_sizes_that_do_not_fit_are_refused_with_what_to_do(toy_model: Path, tmp_path: Path) -> None:
    site = write_jsonl(tmp_path / "forum.jsonl", toy_rows(30, 8))
    with pytest.raises(SystemExit, match="the site has 30 comments: --adapt 20 and --calibrate 10 "
                                         "leave 0 to measure on; ask for fewer"):
        main(["--model", str(toy_model), "--site", str(site), "--adapt", "20", "--calibrate", "10"])


def test_the_parts_share_out_every_stratum_in_proportion() -> None:
    assert part_sizes(442, None, None) == (201, 121, 120)
    assert part_sizes(5000, None, None) == (500, 300, 4200)
    with pytest.raises(ConfigError, match="the site has 2 comments"):
        part_sizes(2, None, None)
    examples = [Example(f"comment {i}", {"incivility": float(i % 10 == 0), "hostility": float(i % 40 == 0)})
                for i in range(440)]
    parts = deal(examples, (200, 120, 120), seed=1)
    assert [len(p) for p in parts] == [200, 120, 120]
    assert len({ex.text for part in parts for ex in part}) == 440
    for part in parts:  # 11 hostile and 33 more uncivil comments in all, shared 5 : 3 : 3 (±1)
        share = len(part) / 440
        assert abs(sum(ex.labels["hostility"] for ex in part) - 11 * share) <= 1
        assert abs(sum(ex.labels["incivility"] for ex in part) - 44 * share) <= 1
    assert deal(examples, (200, 120, 120), seed=1) == parts
    assert deal(examples, (200, 120, 120), seed=2) != parts
