"""Training recipes: the public labelled datasets mapped onto our labels.

Each dataset has a module here exposing ``RECIPE`` (a :class:`DatasetRecipe`): its folder name
under the data directory, licence, what it teaches, the label mapping for the model card, and
a loader returning every example in the folder. ``load_recipe`` turns a recipe name
(``default`` for all, a dataset name, or a comma list) into training and validation examples
plus the provenance the model card prints.

Each dataset gets its own validation split, so every one is measured. The training part is
then subsampled to the dataset's cap, so that the default training (about 50,000 examples)
covers every label instead of drowning the rare ones in the large sets.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moderation.errors import ConfigError, DataError
from moderation.labelled import Example, LoadReport, stratified_split
from training.recipes import (
    cocolofa,
    davidson2017,
    gab_hate_corpus,
    hatexplain,
    implicit_hate,
    logic_fallacy,
    olid,
    ptc_semeval2020,
    semeval2021_task6,
    toxic_spans,
    tweeteval_hate,
    unhealthy_conversations,
    written,
)
from training.recipes.base import CALM_MAPPING, DatasetRecipe, calm_negatives

if TYPE_CHECKING:
    from training.config import TrainingArguments

__all__ = ["DEFAULT", "RECIPES", "DatasetRecipe", "load_recipe", "select", "subsample", "thin"]

DEFAULT = "default"
RECIPES: dict[str, DatasetRecipe] = {
    module.RECIPE.name: module.RECIPE
    for module in (
        toxic_spans, unhealthy_conversations, gab_hate_corpus, olid, davidson2017, hatexplain,
        implicit_hate, tweeteval_hate, ptc_semeval2020, semeval2021_task6, cocolofa, logic_fallacy,
        written,
    )
}
# Validation is scored in full at the end of training: this keeps it to minutes on a CPU.
VAL_CAP = 1500
# Share of a cap that goes first to whole strata of rare positives (see ``subsample``).
PRIORITY_SHARE = 0.75

Log = Callable[[str], None]


def select(name: str) -> list[DatasetRecipe]:
    """The recipes a name asks for: ``default`` (all), or dataset names separated by commas
    (a folder name, or its module name with underscores)."""
    by_alias = {alias: recipe for recipe in RECIPES.values()
                for alias in (recipe.name, recipe.name.replace("-", "_"))}
    chosen: dict[str, DatasetRecipe] = {}
    for part in (p.strip() for p in name.split(",")):
        if part == DEFAULT:
            chosen.update(RECIPES)
        elif part in by_alias:
            chosen[by_alias[part].name] = by_alias[part]
        else:
            raise ConfigError(f"unknown recipe {part!r}: use {DEFAULT!r} or dataset names "
                              f"separated by commas ({', '.join(RECIPES)})")
    return list(chosen.values())


def load_recipe(name: str, data_dir: Path, args: TrainingArguments, log: Log
                ) -> tuple[list[Example], list[Example], list[dict[str, Any]]]:
    """Training and validation examples for a recipe, and one provenance entry per dataset."""
    recipes = select(name)
    if args.max_per_dataset is not None and args.max_per_dataset < 1:
        raise ConfigError(f"max_per_dataset must be at least 1, got {args.max_per_dataset}")
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: no such data directory; point --data-dir at the public datasets")
    train: list[Example] = []
    val: list[Example] = []
    provenance: list[dict[str, Any]] = []
    for recipe in recipes:
        folder = data_dir / recipe.name
        if recipe.folder and not folder.is_dir():
            log(f"{recipe.name}: not in {data_dir}; skipped")
            continue
        part_train, part_val, entry = _prepare(recipe, folder, args, log)
        train += part_train
        val += part_val
        provenance.append(entry)
    found = {entry["name"] for entry in provenance}
    if not any(recipe.name in found for recipe in recipes if recipe.folder) and any(
            recipe.folder for recipe in recipes):
        raise DataError(f"{data_dir}: none of the datasets of recipe {name!r} is there "
                        f"(expected folders: {', '.join(r.name for r in recipes if r.folder)})")
    return train, val, provenance


def _prepare(recipe: DatasetRecipe, folder: Path, args: TrainingArguments, log: Log
             ) -> tuple[list[Example], list[Example], dict[str, Any]]:
    report = LoadReport()
    examples = recipe.load(folder, report)
    if recipe.calm_negatives:
        examples = [calm_negatives(ex) for ex in examples]
    if recipe.folder:
        split_train, split_val = stratified_split(examples, args.val_fraction, args.seed)
    else:
        split_train, split_val = examples, []
    cap = recipe.cap if args.max_per_dataset is None else min(recipe.cap, args.max_per_dataset)
    val_cap = VAL_CAP if args.max_per_dataset is None else min(VAL_CAP, args.max_per_dataset)
    # Separate generators, so that changing a training cap leaves the validation set as it was
    # and models trained with different caps stay comparable.
    train = subsample(split_train, cap, random.Random(f"{args.seed}/{recipe.name}"))
    val = thin(split_val, val_cap, random.Random(f"{args.seed}/{recipe.name}/validation"))
    log(f"{recipe.name}: {report.summary()}; {len(examples)} examples: {len(train)} training "
        f"(of {len(split_train)}), {len(val)} validation (of {len(split_val)}); training "
        f"positives: {_positives(train)}")
    how = (f"capped at {cap}: strata of the rarest positives kept whole first (up to "
           f"{PRIORITY_SHARE:.0%} of the cap), the rest shared equally among the remaining strata"
           if len(train) < len(split_train) else "all kept")
    kept = len(train)
    positive = [ex for ex in train if _any_positive(ex)] if recipe.repeat > 1 else []
    if positive:
        train += positive * (recipe.repeat - 1)
        how += f"; the {len(positive)} with a positive label each trained on {recipe.repeat} times"
        log(f"{recipe.name}: {len(positive)} training examples with a positive label repeated "
            f"{recipe.repeat} times: {len(train)} training examples")
    thinned = (f", thinned in proportion within each stratum (at most about {val_cap})"
               if len(val) < len(split_val) else "")
    notes = (f"{recipe.notes} Loaded: {report.summary()}. Training: {kept} of the "
             f"{len(split_train)} left after holding out {args.val_fraction:.0%} for validation "
             f"(seed {args.seed}); {how}. Validation: {len(val)} of {len(split_val)}{thinned}.")
    entry = {
        "name": recipe.name,
        "licence": recipe.licence,
        "taught": recipe.taught,
        "examples": len(train),
        "validation": len(val),
        "mapping": {**recipe.mapping, **(CALM_MAPPING if recipe.calm_negatives else {})},
        "notes": notes,
    }
    return train, val, entry


def _strata(examples: Sequence[Example]) -> dict[str, list[int]]:
    """Example indices grouped by their rarest positive label ("" for none), as in
    ``stratified_split``."""
    counts = Counter(name for ex in examples for name, value in ex.labels.items() if value >= 0.5)
    strata: dict[str, list[int]] = {}
    for i, ex in enumerate(examples):
        positives = [name for name, value in ex.labels.items() if value >= 0.5]
        key = min(positives, key=lambda n: (counts[n], n)) if positives else ""
        strata.setdefault(key, []).append(i)
    return strata


def subsample(examples: Sequence[Example], cap: int, rng: random.Random) -> list[Example]:
    """At most ``cap`` examples, favouring rare labels and balance over the natural mix.

    Strata are the examples' rarest positive label. First, whole strata of positives are
    kept, smallest first, while they fit in ``PRIORITY_SHARE`` of the cap (so a dataset's rare
    labels survive intact); then the rest of the cap is shared equally among the remaining
    strata, each taking what it has up to its share (a random part of it).
    """
    if len(examples) <= cap:
        return list(examples)
    strata = _strata(examples)
    order = sorted(strata, key=lambda key: (len(strata[key]), key))
    chosen: list[int] = []
    rest: list[str] = []
    filling = True  # strata come smallest first: once one does not fit, no later one does
    for key in order:
        filling = filling and (not key or len(chosen) + len(strata[key]) <= cap * PRIORITY_SHARE)
        if key and filling:
            chosen += strata[key]
        else:
            rest.append(key)
    budget = cap - len(chosen)
    for position, key in enumerate(rest):
        take = min(len(strata[key]), budget // (len(rest) - position))
        chosen += rng.sample(strata[key], take)
        budget -= take
    return [examples[i] for i in sorted(chosen)]


def thin(examples: Sequence[Example], cap: int, rng: random.Random) -> list[Example]:
    """About ``cap`` examples, each stratum kept in proportion (at least one of each), so
    validation keeps its natural label mix for calibration and still sees rare labels."""
    if len(examples) <= cap:
        return list(examples)
    chosen: list[int] = []
    for _, members in sorted(_strata(examples).items()):
        take = max(1, round(len(members) * cap / len(examples)))
        chosen += rng.sample(members, take)
    return [examples[i] for i in sorted(chosen)]


def _any_positive(example: Example) -> bool:
    return any(value >= 0.5 for value in example.labels.values())


def _positives(examples: Sequence[Example]) -> str:
    counts = Counter(name for ex in examples for name, value in ex.labels.items() if value >= 0.5)
    return ", ".join(f"{name} {n}" for name, n in counts.most_common()) or "none"


def recipe_config(name: str) -> str | None:
    """The training settings file a recipe ships (``recipes/NAME.toml``), if any."""
    path = Path(__file__).with_name(f"{name}.toml")
    return str(path) if path.is_file() else None


def validation_split(model_dir: Path, recipe: str, data_dir: str | None, log: Log) -> list[Example]:
    """A recipe's validation split rebuilt with the settings ``model_dir`` was trained with
    (seed, validation share, caps), so it is exactly the split the model was tuned on."""
    import json

    from training.config import TrainingArguments

    settings_file = model_dir / "training_config.json"
    settings = json.loads(settings_file.read_text()) if settings_file.is_file() else {}
    settings = {k: v for k, v in settings.items() if k in TrainingArguments.__dataclass_fields__}
    settings.update(recipe=recipe, resume=False)
    if data_dir:
        settings["data_dir"] = data_dir
    config = TrainingArguments.from_dict(settings)
    _, validation, _ = load_recipe(recipe, Path(config.data_dir), config, log)
    return validation
