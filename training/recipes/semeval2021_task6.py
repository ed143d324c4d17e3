"""SemEval-2021 Task 6: persuasion techniques in meme texts (training + dev sets).

The task-2 files hold the task-1 labels plus their character spans, so they are read when
present (falling back to task 1, without spans). Every meme is annotated for all 20 techniques:
each of ours is known (0/1), and propaganda is 1 when the meme uses any technique. Smears,
Glittering generalities and Obfuscation have no label of ours: they count for propaganda only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from moderation.errors import DataError
from moderation.labelled import Example, LoadReport, Span
from training.recipes.base import (
    DatasetRecipe,
    Deduper,
    span_labels_with_evidence,
    visible_spans,
)

NAME = "semeval2021-task6"
SPLITS = ("training_set", "dev_set")

TECHNIQUES = {
    "Appeal to authority": "appeal_to_authority",
    "Appeal to fear/prejudice": "appeal_to_fear",
    "Black-and-white Fallacy/Dictatorship": "black_and_white",
    "Causal Oversimplification": "causal_oversimplification",
    "Doubt": "doubt",
    "Exaggeration/Minimisation": "exaggeration",
    "Flag-waving": "flag_waving",
    "Loaded Language": "loaded_language",
    "Misrepresentation of Someone's Position (Straw Man)": "straw_man",
    "Name calling/Labeling": "name_calling",
    "Presenting Irrelevant Data (Red Herring)": "red_herring",
    "Reductio ad hitlerum": "reductio_ad_hitlerum",
    "Repetition": "repetition",
    "Slogans": "slogans",
    "Thought-terminating cliché": "thought_terminating_cliche",
    "Whataboutism": "whataboutism",
    "Bandwagon": "bandwagon",
}
PROPAGANDA_ONLY = ("Smears", "Glittering generalities (Virtue)",
                   "Obfuscation, Intentional vagueness, Confusion")
OURS = frozenset(TECHNIQUES.values()) | {"propaganda"}


def load(folder: Path, report: LoadReport | None = None) -> list[Example]:
    report = report if report is not None else LoadReport()
    dedupe = Deduper(report)
    examples = []
    for split in SPLITS:
        path = _split_file(folder, split)
        for item in _read(path):
            report.rows += 1
            text = item.get("text")
            if not isinstance(text, str) or not text.strip():
                report.skip("empty text")
                continue
            if dedupe.first(text):
                examples.append(_example(text, item.get("labels") or [], path))
    return examples


def _example(text: str, raw_labels: list[Any], path: Path) -> Example:
    with_spans = path.name.endswith("task2.txt")
    names: list[str] = []
    spans: list[Span] = []
    for raw in raw_labels:
        name = raw.get("technique") if with_spans and isinstance(raw, dict) else raw
        if name not in TECHNIQUES and name not in PROPAGANDA_ONLY:
            raise DataError(f"{path}: unknown technique {name!r}")
        names.append(name)
        if with_spans:
            start, end = raw.get("start"), raw.get("end")
            if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
                raise DataError(f"{path}: a {name!r} span is not inside its text")
            spans.append(Span(start, end, TECHNIQUES.get(name, "propaganda")))
    labels = {ours: float(upstream in names) for upstream, ours in TECHNIQUES.items()}
    labels["propaganda"] = float(bool(names))
    spans = visible_spans(text, spans)
    span_labels = span_labels_with_evidence(labels, spans, OURS) if with_spans else frozenset()
    return Example(text, labels, tuple(spans), span_labels, NAME)


def _split_file(folder: Path, split: str) -> Path:
    for task in ("task2", "task1"):
        path = folder / f"{split}_{task}.txt"
        if path.is_file():
            return path
    raise DataError(f"{folder}: neither {split}_task2.txt nor {split}_task1.txt is there")


def _read(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not a readable JSON list: {exc}") from None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise DataError(f"{path}: expected a JSON list of {{id, text, labels}} objects")
    return data


RECIPE = DatasetRecipe(
    name=NAME,
    licence="free for general research use (SemEval-2021 Task 6 README)",
    taught="propaganda and 17 techniques, with spans",
    mapping={
        **TECHNIQUES,
        **dict.fromkeys(PROPAGANDA_ONLY, "propaganda only"),
        "no technique": "propaganda 0 and every technique 0",
    },
    load=load,
    cap=1000,
    notes=(
        "Meme texts (short, often upper-case). The only source of straw_man, red_herring, "
        "whataboutism, bandwagon and reductio_ad_hitlerum with spans. Small: every training "
        "meme is kept."
    ),
)
