"""A fake scorer for the service's unit tests: keyword rules instead of a model, so the tests
are fast and their expected scores are obvious. Everything around it is the real service."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from moderation.modeldir import LabelInfo, ModelInfo
from moderation.scorer import EvidenceSpan, Scores

LABELS = (
    LabelInfo("hostility", "hostility", "Hostile or toxic.", threshold=0.5, spans=True),
    LabelInfo("insult", "hostility", "Insulting.", threshold=0.6),
    LabelInfo("threat", "hostility", "Threatening.", threshold=0.4),
    LabelInfo("propaganda", "propaganda", "Uses a persuasion technique.", threshold=0.5),
)
# word -> (label, score); hostility follows the strongest hostile word.
WORDS = {
    "awful": ("hostility", 0.7),
    "vile": ("hostility", 0.95),
    "idiot": ("insult", 0.8),
    "hurt": ("threat", 0.6),
    "traitors": ("propaganda", 0.75),
}
BOOM = "explode"  # the fake model raises on any text holding this word


class FakeBackend:
    name = "fake"


class FakeScorer:
    backend = FakeBackend()

    def __init__(self) -> None:
        self.info = ModelInfo(path=Path("fake-model"), name="fake", version="7", labels=LABELS,
                              base_name="none", base_sha256="0" * 64)
        self.calls: list[int] = []
        self.lock = threading.Lock()

    def score_batch(self, texts: Sequence[str]) -> list[Scores]:
        with self.lock:
            self.calls.append(len(texts))
        return [self._score(text) for text in texts]

    def _score(self, text: str) -> Scores:
        if BOOM in text:
            raise RuntimeError("cannot score " + text)
        scores = {label.name: 0.01 for label in LABELS}
        spans = []
        lowered = text.lower()
        for word, (label, score) in WORDS.items():
            start = lowered.find(word)
            if start >= 0:
                scores[label] = max(scores[label], score)
                if label == "hostility":
                    spans.append(EvidenceSpan(start, start + len(word), label, 0.9))
        if scores["insult"] > 0.5:
            scores["hostility"] = max(scores["hostility"], 0.6)
        return Scores(scores, tuple(spans))
