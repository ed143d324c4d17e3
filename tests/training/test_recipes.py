"""Dataset recipes: each public dataset in ../shared/data loads, maps onto our labels as its
recipe says, and ``load_recipe`` splits, caps and records provenance.

The dataset tests read ../shared through the ``shared_dir`` fixture (skipped without it); the
sampling tests use invented examples.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from moderation.errors import ConfigError, DataError
from moderation.labelled import Example
from moderation.labels import BY_NAME, DEFAULT_LABELS
from training.config import TrainingArguments
from training.recipes import RECIPES, load_recipe, select, subsample, thin
from training.recipes.base import CALM_NEGATIVES, RARE_TECHNIQUES, calm_negatives

Loaded = Callable[[str], list[Example]]
TECHNIQUES = tuple(n for n in DEFAULT_LABELS if BY_NAME[n].group == "propaganda" and n != "propaganda")
HOSTILITY_TYPES = ("insult", "threat", "identity_attack", "profanity")


@pytest.fixture(scope="module")
def data_dir(shared_dir: Path) -> Path:
    return shared_dir / "data"


@pytest.fixture(scope="module")
def loaded(data_dir: Path) -> Loaded:
    """Each dataset loaded once for the whole module."""
    cache: dict[str, list[Example]] = {}

    def get(name: str) -> list[Example]:
        if name not in cache:
            folder = data_dir / name
            if RECIPES[name].folder and not folder.is_dir():
                pytest.skip(f"{folder} is absent")
            cache[name] = RECIPES[name].load(folder)
        return cache[name]

    return get


def positive(ex: Example, name: str) -> bool:
    return ex.labels.get(name, 0.0) >= 0.5


# --- every recipe ------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(RECIPES))
def test_recipe_loads_well_formed_examples(name: str, loaded: Loaded) -> None:
    recipe = RECIPES[name]
    assert recipe.licence and recipe.taught and recipe.mapping and recipe.cap > 0
    examples = loaded(name)
    assert len(examples) > 100
    assert len({ex.text for ex in examples}) == len(examples), "duplicate texts would leak into validation"
    for ex in examples:
        assert ex.text.strip() and ex.source == name
        assert set(ex.labels) <= set(DEFAULT_LABELS)
        assert all(0.0 <= v <= 1.0 for v in ex.labels.values())
        assert ex.span_labels <= set(DEFAULT_LABELS)
        for span in ex.spans:
            assert 0 <= span.start < span.end <= len(ex.text)
            assert ex.text[span.start:span.end].strip()
            assert span.label in ex.span_labels or BY_NAME[span.label].group in ex.span_labels
        # a positive whose spans are annotated must show a span (a member's counts for its
        # headline, as in training)
        for label in ex.span_labels:
            if positive(ex, label):
                assert any(label in (s.label, BY_NAME[s.label].group) for s in ex.spans), (name, label)


# --- mapping rules, per dataset ------------------------------------------------------------


def test_toxic_spans(loaded: Loaded) -> None:
    examples = loaded("toxic-spans")
    without_span = 0
    for ex in examples:
        assert "hostility" in ex.span_labels
        has_span = any(s.label == "hostility" for s in ex.spans)
        # a post with no agreed span is hostility unknown, never 0
        assert ex.labels.get("hostility") == (1.0 if has_span else None)
        without_span += not has_span
        for label in HOSTILITY_TYPES:
            assert ex.labels.get(label, 0.0) in (0.0, 1.0)
    assert 0 < without_span < len(examples) // 5
    typed = [ex for ex in examples if "insult" in ex.labels]
    assert len(typed) > 0.9 * len(examples)
    for label in HOSTILITY_TYPES:
        assert any(positive(ex, label) and any(s.label == label for s in ex.spans) for ex in typed)
        assert any(ex.labels[label] == 0.0 and label in ex.span_labels for ex in typed)


def test_unhealthy_conversations_soft_labels_follow_the_columns(loaded: Loaded, data_dir: Path) -> None:
    examples = {ex.text: ex for ex in loaded("unhealthy-conversations")}
    with open(data_dir / "unhealthy-conversations" / "val.csv", encoding="utf-8", newline="") as handle:
        rows = {row["comment"].strip(): row for row in csv.DictReader(handle)}
    soft = 0
    for text, ex in examples.items():
        assert set(ex.labels) == {"hostility", "incivility"}
        row = rows[text]
        assert positive(ex, "hostility") == (row["hostile"] == "1")
        uncivil = any(row[c] == "1" for c in ("antagonize", "condescending", "dismissive", "sarcastic"))
        assert positive(ex, "incivility") == uncivil
        soft += 0.0 < ex.labels["hostility"] < 1.0
    assert soft > 0


def test_gab_hostility_is_any_of_the_three(loaded: Loaded) -> None:
    examples = loaded("gab-hate-corpus")
    for ex in examples:
        assert set(ex.labels) == {"hostility", "identity_attack", "threat", "profanity"}
        assert ex.labels["hostility"] == max(ex.labels[n] for n in ("identity_attack", "threat", "profanity"))
    assert any(ex.labels["hostility"] == 0.0 for ex in examples)
    assert any(positive(ex, "threat") for ex in examples)


def test_olid_levels(loaded: Loaded) -> None:
    seen = set()
    for ex in loaded("olid"):
        if ex.labels["hostility"] == 0.0:
            assert ex.labels == {"hostility": 0.0, "insult": 0.0, "profanity": 0.0}
        elif ex.labels["insult"] == 1.0:
            assert "profanity" not in ex.labels  # a targeted insult may or may not swear
        else:
            assert ex.labels == {"hostility": 1.0, "insult": 0.0, "profanity": 1.0}
        seen.add(tuple(sorted(ex.labels.items())))
    assert len(seen) == 3


@pytest.mark.parametrize("name", ["davidson2017", "hatexplain"])
def test_hate_offensive_neither(name: str, loaded: Loaded) -> None:
    allowed = {(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)}  # neither/normal, offensive, hate
    seen = {(ex.labels["hostility"], ex.labels["identity_attack"]) for ex in loaded(name)}
    assert all(set(ex.labels) == {"hostility", "identity_attack"} for ex in loaded(name))
    assert seen == allowed


def test_hatexplain_skips_undecided(loaded: Loaded, data_dir: Path) -> None:
    with open(data_dir / "hatexplain" / "092-HateXplain.csv", encoding="utf-8", newline="") as handle:
        undecided = {row["text"].strip() for row in csv.DictReader(handle) if row["category"] == "3"}
    assert undecided
    texts = {ex.text for ex in loaded("hatexplain")}
    # a text can also appear with a decided label; most undecided ones must be gone
    assert len(undecided & texts) < 0.05 * len(undecided)


def test_implicit_hate_hostility_only_for_explicit(loaded: Loaded) -> None:
    examples = loaded("implicit-hate")
    for ex in examples:
        if "hostility" in ex.labels:
            assert ex.labels == {"hostility": 1.0, "identity_attack": 1.0}
        else:
            assert set(ex.labels) == {"identity_attack"}
    implicit = [ex for ex in examples if ex.labels == {"identity_attack": 1.0}]
    assert len(implicit) > len(examples) // 5


def test_tweeteval_hate(loaded: Loaded) -> None:
    for ex in loaded("tweeteval-hate"):
        if positive(ex, "identity_attack"):
            assert ex.labels == {"identity_attack": 1.0, "hostility": 1.0}
        else:
            assert ex.labels == {"identity_attack": 0.0}  # not-hate is not a hostility negative
    assert not any("&amp;" in ex.text for ex in loaded("tweeteval-hate"))


def test_ptc_sentences(loaded: Loaded) -> None:
    examples = loaded("ptc-semeval2020")
    merged = [ex for ex in examples if "straw_man" not in ex.labels]
    assert merged
    for ex in merged:
        assert ex.labels["propaganda"] == 1.0
        assert "red_herring" not in ex.labels
        assert "whataboutism" not in ex.span_labels
        assert any(s.label in ("propaganda", "whataboutism") for s in ex.spans)
    # a merged span that says which member it is ("what about ...", a likening to Nazis)
    # makes that member positive, with its span as evidence
    for name, cue in (("whataboutism", "about"), ("reductio_ad_hitlerum", "")):
        cued = [ex for ex in examples if ex.labels.get(name) == 1.0]
        assert cued, name
        for ex in cued:
            evidence = [ex.text[s.start:s.end].lower() for s in ex.spans if s.label == name]
            assert evidence and all(cue in e for e in evidence)
    single = {n for n in TECHNIQUES if n not in ("whataboutism", "straw_man", "red_herring",
                                                  "bandwagon", "reductio_ad_hitlerum")}
    assert len(single) == 12
    for ex in examples:
        assert single | {"propaganda"} <= set(ex.labels)
        assert single | {"propaganda"} <= ex.span_labels
        any_technique = any(positive(ex, n) for n in single) or len(ex.labels) < len(TECHNIQUES) + 1
        assert ex.labels["propaganda"] == float(any_technique)
        if "straw_man" in ex.labels:  # the merged class is absent from the line
            assert ex.labels["whataboutism"] == 0.0
    negatives = sum(ex.labels["propaganda"] == 0.0 for ex in examples)
    assert len(examples) // 2 < negatives < len(examples)


def test_semeval2021_memes(loaded: Loaded) -> None:
    examples = loaded("semeval2021-task6")
    for ex in examples:
        assert set(ex.labels) == set(TECHNIQUES) | {"propaganda"}
        if ex.labels["propaganda"] == 0.0:
            assert not any(ex.labels.values()) and not ex.spans
    for name in ("whataboutism", "straw_man", "reductio_ad_hitlerum", "bandwagon"):
        assert any(positive(ex, name) for ex in examples), name
    # Smears and the like are propaganda without a technique of ours
    assert any(ex.labels["propaganda"] == 1.0 and not any(positive(ex, n) for n in TECHNIQUES)
               for ex in examples)


def test_cocolofa(loaded: Loaded) -> None:
    mapped = ("bandwagon", "whataboutism", "black_and_white", "appeal_to_authority")
    examples = loaded("cocolofa")
    for ex in examples:
        assert set(ex.labels) == {*mapped, "propaganda"}
        assert sum(ex.labels[n] for n in mapped) <= 1.0
        if ex.labels["propaganda"] == 0.0:
            assert not any(ex.labels.values())
    assert any(ex.labels["propaganda"] == 0.0 for ex in examples)
    assert any(ex.labels["propaganda"] == 1.0 and sum(ex.labels.values()) == 1.0 for ex in examples)


def test_logic_fallacy_has_positives_only(loaded: Loaded) -> None:
    examples = loaded("logic-fallacy")
    for ex in examples:
        assert ex.labels["propaganda"] == 1.0
        assert all(v == 1.0 for v in ex.labels.values())
    for name in ("bandwagon", "black_and_white", "straw_man", "red_herring", "causal_oversimplification"):
        assert any(name in ex.labels for ex in examples), name


# --- load_recipe ---------------------------------------------------------------------------


def test_default_recipe_caps_splits_and_records_provenance(data_dir: Path) -> None:
    logged: list[str] = []
    args = TrainingArguments(max_per_dataset=50)
    train, val, provenance = load_recipe("default", data_dir, args, logged.append)
    assert [entry["name"] for entry in provenance] == list(RECIPES)
    for entry in provenance:
        assert entry["licence"] and entry["taught"] and entry["mapping"] and entry["notes"]
        mine = [ex for ex in train if ex.source == entry["name"]]
        assert len({ex.text for ex in mine}) == 50
        # a recipe that repeats its positives trains on each of them that many times
        positive = {ex.text for ex in mine if any(v >= 0.5 for v in ex.labels.values())}
        repeat = RECIPES[entry["name"]].repeat
        assert entry["examples"] == len(mine) == 50 + (repeat - 1) * len(positive)
        assert all(sum(ex.text == text for ex in mine) == repeat for text in positive)
        held_out = sum(ex.source == entry["name"] for ex in val)
        if RECIPES[entry["name"]].folder:
            assert 0 < entry["validation"] == held_out <= 50 + 20
        else:  # written examples are measured by the functional suite, not held out
            assert entry["validation"] == held_out == 0
    assert not {ex.text for ex in train} & {ex.text for ex in val}
    repeating = [name for name, recipe in RECIPES.items() if recipe.repeat > 1]
    assert repeating == ["unhealthy-conversations"]
    assert len(logged) == len(RECIPES) + len(repeating)
    assert any("trained on 3 times" in entry["notes"] for entry in provenance)


def test_calm_comments_of_marked_datasets_are_propaganda_negatives(data_dir: Path) -> None:
    train, val, provenance = load_recipe("default", data_dir, TrainingArguments(max_per_dataset=200),
                                         lambda line: None)
    marked = {name for name, recipe in RECIPES.items() if recipe.calm_negatives}
    assert marked and {entry["name"] for entry in provenance if "calm comments" in
                       " ".join(entry["mapping"])} == marked
    for ex in train + val:
        calm = ex.labels.get("hostility", 1.0) < 0.5 and ex.labels.get("incivility", 0.0) < 0.5
        if ex.source in marked and calm:
            assert all(ex.labels[name] == 0.0 for name in CALM_NEGATIVES), ex.labels
        elif ex.source in marked or ex.source == "gab-hate-corpus":
            # hostile comments, and datasets not marked, say nothing about propaganda
            assert not set(CALM_NEGATIVES) & set(ex.labels), ex.labels
    assert any(ex.source in marked and ex.labels.get("propaganda") == 0.0 for ex in val)


# --- calm negatives (invented examples) --------------------------------------------------------


def test_calm_negatives_mark_only_calm_comments_without_propaganda_labels() -> None:
    calm = calm_negatives(Example("a fine day for it", {"hostility": 0.1, "incivility": 0.2}))
    assert calm.labels["propaganda"] == 0.0 and calm.labels["hostility"] == 0.1
    assert set(calm.labels) == {"hostility", "incivility", *CALM_NEGATIVES}
    # the techniques only rhetoric corpora teach stay unknown
    assert RARE_TECHNIQUES and not RARE_TECHNIQUES & set(calm.labels)
    assert set(CALM_NEGATIVES) | RARE_TECHNIQUES == {"propaganda", *TECHNIQUES}
    untouched = [
        Example("hostile", {"hostility": 0.9}),
        Example("rude", {"hostility": 0.2, "incivility": 0.7}),
        Example("no hostility label", {"insult": 0.0}),
        Example("already annotated", {"hostility": 0.0, "loaded_language": 1.0}),
    ]
    for ex in untouched:
        assert calm_negatives(ex) is ex, ex.text


def test_recipe_names_and_missing_folders(data_dir: Path, tmp_path: Path) -> None:
    assert [r.name for r in select("olid, tweeteval_hate")] == ["olid", "tweeteval-hate"]
    with pytest.raises(ConfigError, match="unknown recipe 'nope'"):
        select("olid,nope")
    (tmp_path / "olid").symlink_to(data_dir / "olid")
    logged: list[str] = []
    args = TrainingArguments(max_per_dataset=20)
    train, _, provenance = load_recipe("default", tmp_path, args, logged.append)
    assert [entry["name"] for entry in provenance] == ["olid", "written"]
    assert len(train) == 40
    assert sum("not in" in line for line in logged) == len(RECIPES) - 2
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="none of the datasets"):
        load_recipe("default", empty, TrainingArguments(), logged.append)


# --- sampling (invented examples) ----------------------------------------------------------


def _invented() -> list[Example]:
    examples = [Example(f"rare {i}", {"threat": 1.0, "hostility": 1.0}) for i in range(100)]
    examples += [Example(f"common {i}", {"hostility": 1.0}) for i in range(600)]
    examples += [Example(f"calm {i}", {"hostility": 0.0}) for i in range(400)]
    return examples


def _count(examples: list[Example]) -> dict[str, int]:
    return {kind: sum(ex.text.startswith(kind) for ex in examples) for kind in ("rare", "common", "calm")}


def test_subsample_keeps_rare_positives_and_balances_the_rest() -> None:
    examples = _invented()
    kept = subsample(examples, 200, random.Random(1))
    # the rare stratum (above an equal share, within 75% of the cap) is kept whole first
    assert _count(kept) == {"rare": 100, "common": 50, "calm": 50}
    assert kept == subsample(examples, 200, random.Random(1))
    assert kept != subsample(examples, 200, random.Random(2))
    assert subsample(examples, 5000, random.Random(1)) == examples
    # too big for the priority share: every stratum gets an equal share
    assert _count(subsample(examples, 120, random.Random(1))) == {"rare": 40, "common": 40, "calm": 40}


def test_thin_keeps_proportions_and_every_stratum() -> None:
    examples = [*_invented(), Example("lone", {"insult": 1.0})]
    assert _count(thin(examples, 110, random.Random(1))) == {"rare": 10, "common": 60, "calm": 40}
    assert thin(examples, 110, random.Random(1))[-1].text == "lone"


# --- written examples and augmentation -------------------------------------------------------


def test_written_examples_are_fixed_labelled_and_cover_every_kind() -> None:
    from training.recipes import written

    first, again = written.load(), written.load()
    assert [ex.text for ex in first] == [ex.text for ex in again]  # a fixed seed
    assert len({ex.text for ex in first}) == len(first)
    by_hostility = {ex.labels.get("hostility") for ex in first}
    assert by_hostility == {0.0, 1.0, None}  # calm, hostile, and propaganda-only kinds
    calm = [ex for ex in first if ex.labels.get("hostility") == 0.0]
    assert all(ex.labels["insult"] == ex.labels["identity_attack"] == 0.0 for ex in calm)
    assert any("Muslim" in ex.text for ex in calm)
    assert any(ex.labels.get("reductio_ad_hitlerum") == 1.0 and "Goebbels" in ex.text for ex in first)
    # Menace and deflection take many forms: a few sentences repeated would be learnt by heart.
    threats = [ex for ex in first if ex.labels.get("threat") == 1.0]
    whataboutism = [ex for ex in first if ex.labels.get("whataboutism") == 1.0]
    assert len(whataboutism) >= 400 and len(threats) >= 700
    assert len({ex.text.split(",")[0] for ex in whataboutism}) >= 100


def test_negative_headline_implies_negative_hostility_members_but_not_incivility() -> None:
    from moderation.labelled import infer_labels
    from moderation.labels import DEFAULT_LABELS, default_groups

    groups = default_groups(DEFAULT_LABELS)
    calm = infer_labels(Example("a calm comment", {"hostility": 0.2}), groups)
    assert {calm.labels[n] for n in ("insult", "threat", "identity_attack", "profanity")} == {0.0}
    assert "incivility" not in calm.labels  # "not offensive" does not judge civility
    kept = infer_labels(Example("t", {"hostility": 0.0, "insult": 1.0}), groups)
    assert kept.labels["insult"] == 1.0  # what the data says is never overwritten
    unknown = infer_labels(Example("t", {"identity_attack": 0.0}), groups)
    assert "hostility" not in unknown.labels and "insult" not in unknown.labels


def test_augmentation_swaps_groups_and_obfuscates_offending_words() -> None:
    from training.augment import augment, obfuscate, swap_identity

    rng = random.Random(3)
    calm = Example("My Muslim neighbours and their Muslim friends cleared the drive.", {"hostility": 0.0})
    swapped = swap_identity(calm, rng)
    assert swapped is not None and "Muslim" not in swapped.text
    other = swapped.text.split()[1]
    assert swapped.text.count(other) == 2 and other[0].isupper()  # one group, case kept
    assert swapped.labels == calm.labels and not swapped.spans
    assert swap_identity(Example("A white car and a black dog.", {}), rng) is None
    hostile = Example("You are an idiot.", {"hostility": 1.0, "insult": 1.0})
    texts = {obfuscate(hostile, random.Random(seed)).text for seed in range(40)}  # type: ignore[union-attr]
    assert "You are an idiot." not in texts and len(texts) > 10
    assert any(" i d i o t" in t or "i.d.i.o.t" in t or "i-d-i-o-t" in t for t in texts)
    made, counts = augment([calm, hostile] * 5, swaps=4, obfuscated=3, seed=1)
    assert counts == {"identity swaps": 4, "obfuscated positives": 3} and len(made) == 7
