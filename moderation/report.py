"""The HTML report where a moderator reviews the machine's flags and records decisions
(``moderation score --report FILE.html``).

One self-contained page: styles and script inline, no network access (a Content-Security-Policy
forbids it), so it works opened from disk. It opens on the review queue, the flagged comments
most severe first (:func:`severity`); the allowed comments, each thread in input order and a
summary are tabs beside it. Each comment is a card with its author and time, a score bar for
every flagged label (amber: review, red: reject; the tick marks the review threshold) and the
evidence spans highlighted in the text.

On each card the moderator confirms or overturns each flag, adds a label the model missed and
marks spans of the text as evidence. Decisions stay in the browser (``localStorage``, under the
report's identity: a hash of the model, the policy and every scored comment) and export as a
JSONL file that ``moderation train`` and ``moderation evaluate`` read as it is (see the README,
"Reviewing in the report").

The page is rendered by Jinja2 templates (``moderation/templates/``) with autoescaping on, and
written as records stream in (``Template.generate``), so it never holds the run in memory.
Data for the script is embedded with ``|tojson`` only, which escapes ``<``, ``>``, ``&`` and
``'``.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter, deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, TextIO

from jinja2 import Environment, PackageLoader, StrictUndefined, Template
from markupsafe import Markup, escape

from moderation.batch import Failure, Scored, ScoredEvent, Skipped, ThreadRef, ThreadStart
from moderation.policy import Decision, Policy
from moderation.record import ScoredRecord, as_record

if TYPE_CHECKING:
    from _hashlib import HASH

SKIPPED_SHOWN = 20
FAILURES_LISTED = 100
_RANK: dict[str, int] = {"allow": 0, "review": 1, "reject": 2}


def record_fields(record: ScoredRecord | Mapping[str, Any]) -> Mapping[str, Any]:
    """The one place the report reads a scored record: a :class:`ScoredRecord`, or its JSON
    form read from a file (checked by ``ScoredRecord.from_json``), as that JSON form."""
    return as_record(record).to_json()


def severity(decision: Decision, scores: Mapping[str, float], flags: Sequence[str],
             policy: Policy) -> float:
    """How urgently a person should see a comment: the review queue's order, highest first.

    The decision's rank (reject 2, review 1, allow 0) plus how far the furthest flagged label
    went past its review threshold, as a share of the way from the threshold to 1 (kept below
    1, so a decision is never outranked by a lower one). Raw scores would rank a label with a
    high threshold above a clearer case of a label with a low one.
    """
    past = 0.0
    for label in flags:
        rule = policy.rules.get(label)
        review = rule.review if rule is not None else 0.5
        past = max(past, 1.0 if review >= 1 else (scores[label] - review) / (1 - review))
    return _RANK[decision] + min(max(past, 0.0), 0.999)


@dataclass(frozen=True)
class Segment:
    """A run of a comment's text covered by the same evidence spans (``spans``: their indices)."""

    text: str
    spans: tuple[int, ...]
    labels: str
    title: str


def segments(text: str, spans: Sequence[Mapping[str, Any]]) -> list[Segment]:
    """``text`` cut at every span boundary; overlapping spans give segments covered by both."""
    spans = [s for s in spans if 0 <= s["start"] < s["end"] <= len(text)]
    cuts = sorted({0, len(text), *(s["start"] for s in spans), *(s["end"] for s in spans)})
    out = []
    for start, end in itertools.pairwise(cuts):
        covering = tuple(i for i, s in enumerate(spans) if s["start"] <= start and end <= s["end"])
        out.append(Segment(
            text[start:end], covering,
            " ".join(dict.fromkeys(spans[i]["label"] for i in covering)),
            ", ".join(f"{spans[i]['label']} {spans[i]['score']:.2f}" for i in covering)))
    return out


def highlight(text: str, spans: Sequence[Mapping[str, Any]]) -> Markup:
    """``text`` escaped, with every evidence span inside ``<mark>`` elements (the card's macro)."""
    macros = _environment().get_template("report_parts.html.j2").module
    # A template module's attributes are its macros, which the type checker cannot see.
    html = macros.highlight(segments(text, spans))  # type: ignore[attr-defined]
    return Markup(html)  # noqa: S704 - rendered by the autoescaping environment


def dom_text(text: str) -> Markup:
    """``text`` escaped so that the browser's DOM holds exactly these characters at these
    offsets: an HTML parser turns a raw carriage return into a line feed (a ``\\r\\n`` into
    one character), so it is written as a reference; a NUL cannot be held at all and shows as
    U+FFFD, one UTF-16 unit like it (the card carries the exact text for the export then)."""
    escaped = str(escape(text))
    if "\r" in escaped or "\0" in escaped:
        escaped = escaped.replace("\r", "&#13;").replace("\0", "&#xFFFD;")
    return Markup(escaped)  # noqa: S704 - escaped above


@cache
def _environment() -> Environment:
    # PackageLoader reads moderation/templates from the installed package (a wheel, an
    # editable install or the source tree alike); autoescaping is on for every template.
    env = Environment(loader=PackageLoader("moderation", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.filters["dom_text"] = dom_text
    env.policies["json.dumps_kwargs"] = {"sort_keys": False, "separators": (",", ":")}
    return env


def _template() -> Template:
    return _environment().get_template("report.html.j2")


_PAUSE = object()


class _Feed:
    """The events :meth:`HtmlReport.add` hands over, as an iterable for the template.

    The template's generator pulls events; the scoring loop pushes them. When none is waiting
    the iterator yields ``_PAUSE`` (the template writes nothing for it), so the generator hands
    control back to ``add`` instead of blocking, and resumes there on the next event.
    """

    def __init__(self) -> None:
        self.pending: deque[ScoredEvent] = deque()
        self.closed = False
        self.starved = False

    def __iter__(self) -> Iterator[Any]:
        while self.pending or not self.closed:
            if self.pending:
                yield self.pending.popleft()
            else:
                self.starved = True
                yield _PAUSE


@dataclass
class _ThreadTotals:
    title: str
    source: str
    comments: int = 0
    decisions: Counter[str] = field(default_factory=Counter)


@dataclass
class Totals:
    """What the summary tab shows and the page's identity, gathered as records stream by."""

    labels: list[str]
    about: str
    decisions: Counter[str] = field(default_factory=Counter)
    flagged: Counter[str] = field(default_factory=Counter)
    threads: list[_ThreadTotals] = field(default_factory=list)
    skipped: int = 0
    failures: list[Failure] = field(default_factory=list)
    failed: int = 0
    _hash: HASH = field(default_factory=hashlib.sha256)

    @property
    def comments(self) -> int:
        return sum(self.decisions.values())

    def add_record(self, key: str, record: Mapping[str, Any]) -> None:
        self.decisions[record["decision"]] += 1
        self.flagged.update(record["flags"])
        if self.threads:
            self.threads[-1].comments += 1
            self.threads[-1].decisions[record["decision"]] += 1
        for part in (key, str(record["id"]), record["text"], *record["flags"]):
            self._hash.update(part.encode("utf-8", "surrogatepass") + b"\0")

    def identity(self) -> str:
        """The report's identity: its model, policy, labels and every scored comment. Decisions
        saved in the browser are kept under it, so another report never shows them."""
        digest = self._hash.copy()
        digest.update("\0".join([self.about, *self.labels]).encode("utf-8", "surrogatepass"))
        return digest.hexdigest()[:16]

    def page_data(self) -> dict[str, Any]:
        return {"identity": self.identity(), "labels": self.labels, "about": self.about}


class HtmlReport:
    """Writes the report to ``out`` as events arrive; call :meth:`close` at the end."""

    def __init__(self, out: TextIO, labels: Sequence[str], policy: Policy, about: str) -> None:
        self.out = out
        self.labels = list(labels)
        self.policy = policy
        self.totals = Totals(self.labels, about)
        self._order = 0
        self._feed = _Feed()
        self._chunks = _template().generate(
            about=about, labels=self.labels, parts=self._parts(self._feed), totals=self.totals)
        self._pump()

    def add(self, event: ScoredEvent) -> None:
        self._feed.pending.append(event)
        self._pump()

    def close(self) -> None:
        self._feed.closed = True
        self._pump()

    def _pump(self) -> None:
        """Write what the template renders until it waits for the next event (or ends)."""
        self._feed.starved = False
        while not self._feed.starved:
            chunk = next(self._chunks, None)
            if chunk is None:
                return
            self.out.write(chunk)

    def _parts(self, feed: _Feed) -> Iterator[dict[str, Any]]:
        """The page's parts in order: threads opened and closed, cards, failures."""
        thread: ThreadRef | None = None
        skipped: list[Skipped] = []
        skipped_count = 0

        def close_thread() -> dict[str, Any]:
            nonlocal thread, skipped, skipped_count
            part = {"kind": "close", "skipped": skipped, "skipped_count": skipped_count,
                    "more": skipped_count - len(skipped)}
            thread, skipped, skipped_count = None, [], 0
            return part

        def open_thread(start: ThreadStart) -> Iterator[dict[str, Any]]:
            nonlocal thread
            if thread is not None:
                yield close_thread()
            thread = start.thread
            self.totals.threads.append(_ThreadTotals(_thread_name(thread), thread.source))
            yield {"kind": "open", "thread": thread, "pingbacks": start.pingbacks,
                   "number": len(self.totals.threads)}

        for event in feed:
            if event is _PAUSE:
                yield {"kind": "pause", "nothing": ""}
            elif isinstance(event, ThreadStart):
                yield from open_thread(event)
            elif isinstance(event, Scored):
                if thread is None or event.item.thread.key != thread.key:
                    yield from open_thread(ThreadStart(event.item.thread))
                record = record_fields(event.record)
                if "error" not in record:
                    yield self._card(event.item.thread, record)
                    continue
                # not scored (an empty or oversized text): listed with the skipped comments
                event = Skipped(event.item.thread, str(record["id"]), record["error"]["message"])
            if isinstance(event, Skipped):
                skipped_count += 1
                self.totals.skipped += 1
                if len(skipped) < SKIPPED_SHOWN:
                    skipped.append(event)
            elif isinstance(event, Failure):
                if thread is not None:
                    yield close_thread()
                self.totals.failed += 1
                if len(self.totals.failures) < FAILURES_LISTED:
                    self.totals.failures.append(event)
                yield {"kind": "failure", "failure": event}
        if thread is not None:
            yield close_thread()

    def _card(self, thread: ThreadRef, record: Mapping[str, Any]) -> dict[str, Any]:
        self._order += 1
        self.totals.add_record(thread.key, record)
        text, flags, scores = record["text"], list(record["flags"]), record["scores"]
        decision = record["decision"]
        payload: dict[str, Any] = {"key": [thread.key, str(record["id"])], "id": str(record["id"]),
                                   "thread": _thread_name(thread), "flags": flags,
                                   "scores": {k: round(v, 4) for k, v in scores.items()}}
        if "\0" in text:
            payload["text"] = text  # the DOM cannot hold it (see dom_text)
        return {
            "kind": "card", "order": self._order, "record": record, "decision": decision,
            "thread_name": _thread_name(thread), "payload": payload,
            "severity": f"{severity(decision, scores, flags, self.policy):.4f}",
            "segments": segments(text, record["spans"]),
            "bars": [self._bar(label, scores[label]) for label in flags],
        }

    def _bar(self, label: str, score: float) -> dict[str, Any]:
        rule = self.policy.rules.get(label)
        limits = ""
        if rule is not None:
            limits = f" (review at {rule.review:.2f}" + (
                f", reject at {rule.reject:.2f})" if rule.reject is not None else ")")
        return {"label": label, "score": score, "limits": limits,
                "level": self.policy.level(label, score) if rule else "review",
                "tick": None if rule is None else rule.review}


def _thread_name(thread: ThreadRef) -> str:
    """How the export and the cards name a thread: its title, else its source."""
    return thread.title or thread.source
