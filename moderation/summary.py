"""Per-thread summary of a scoring run (``moderation score --summary FILE``).

For each thread, in input order: its source and title, how many comments were scored and which
were skipped, its pingbacks, the decisions, the share of comments flagged per label, the worst
comments and the most frequent persuasion techniques. Inputs that failed are listed with the
reason. Memory grows with the number of threads, never with the number of comments.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from moderation.batch import Failure, Scored, ScoredEvent, Skipped, ThreadRef, ThreadStart
from moderation.policy import DECISIONS

WORST = 3  # worst comments kept per thread
TOP = 5  # techniques listed per thread
SKIPPED_SHOWN = 20  # skipped comments named per thread; the rest are counted


@dataclass
class ThreadSummary:
    thread: ThreadRef
    pingbacks: list[dict[str, Any]] = field(default_factory=list)
    scored: int = 0
    skipped: int = 0
    skipped_shown: list[dict[str, str]] = field(default_factory=list)
    decisions: Counter[str] = field(default_factory=Counter)
    flagged: Counter[str] = field(default_factory=Counter)
    worst: list[tuple[tuple[int, float, float], int, dict[str, Any]]] = field(default_factory=list)

    def to_dict(self, labels: list[str], techniques: list[str]) -> dict[str, Any]:
        counted = sorted((t for t in techniques if self.flagged[t]), key=lambda t: -self.flagged[t])
        top = [{"label": t, "count": self.flagged[t]} for t in counted]  # ties in label order
        return {
            "source": self.thread.source,
            "title": self.thread.title,
            "url": self.thread.url,
            "comments": self.scored,
            "skipped": self.skipped,
            "skipped_comments": self.skipped_shown,
            "pingbacks": self.pingbacks,
            "decisions": {d: self.decisions[d] for d in DECISIONS},
            "flagged_share": {label: round(self.flagged[label] / self.scored, 4) if self.scored else 0.0
                              for label in labels},
            "worst": [entry for _, _, entry in sorted(self.worst, reverse=True)],
            "top_techniques": top[:TOP],
        }


class Summary:
    """Accumulates :func:`moderation.batch.score_events` output into the summary."""

    def __init__(self, labels: list[str], techniques: list[str]) -> None:
        self.labels = labels
        self.techniques = techniques
        self.threads: dict[str, ThreadSummary] = {}
        self.failures: list[dict[str, str]] = []
        self.scored = self.skipped = self.pingbacks = 0
        self.decisions: Counter[str] = Counter()
        self._order = itertools.count()

    def add(self, event: ScoredEvent) -> None:
        if isinstance(event, ThreadStart):
            entry = self._thread(event.thread)
            entry.pingbacks.extend(p.to_dict() for p in event.pingbacks)
            self.pingbacks += len(event.pingbacks)
        elif isinstance(event, Scored):
            self._scored(event)
        elif isinstance(event, Skipped):
            self.skipped += 1
            entry = self._thread(event.thread)
            entry.skipped += 1
            if len(entry.skipped_shown) < SKIPPED_SHOWN:
                entry.skipped_shown.append({"id": event.id, "reason": event.reason})
        elif isinstance(event, Failure):
            self.failures.append({"path": event.path, "reason": event.reason})

    def _thread(self, ref: ThreadRef) -> ThreadSummary:
        entry = self.threads.get(ref.key)
        if entry is None:
            entry = self.threads[ref.key] = ThreadSummary(ref)
        return entry

    def _scored(self, event: Scored) -> None:
        record = event.record
        decision, flags, scores = record.decision, record.flags, record.scores
        if record.error is not None or decision is None or flags is None or scores is None:
            why = record.error.message if record.error is not None else "not scored"
            self.add(Skipped(event.item.thread, record.id, why))  # counted where it is seen
            return
        entry = self._thread(event.item.thread)
        entry.scored += 1
        self.scored += 1
        entry.decisions[decision] += 1
        self.decisions[decision] += 1
        entry.flagged.update(flags)
        if not flags:
            return  # only flagged comments can be among the worst
        label = max(flags, key=lambda name: scores[name])
        severity = (DECISIONS.index(decision), scores[label], max(scores.values()))
        worst = {"id": record.id, "author": record.author, "decision": decision,
                 "label": label, "score": scores[label], "flags": list(flags)}
        item = (severity, -next(self._order), worst)  # earlier comments win ties
        if len(entry.worst) < WORST:
            heapq.heappush(entry.worst, item)
        else:
            heapq.heappushpop(entry.worst, item)

    def to_dict(self) -> dict[str, Any]:
        return {
            "totals": {
                "threads": len(self.threads),
                "comments": self.scored,
                "skipped": self.skipped,
                "pingbacks": self.pingbacks,
                "decisions": {d: self.decisions[d] for d in DECISIONS},
                "failed_inputs": len(self.failures),
            },
            "failures": self.failures,
            "threads": [t.to_dict(self.labels, self.techniques) for t in self.threads.values()],
        }
