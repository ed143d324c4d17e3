"""The record of one scored comment, :class:`ScoredRecord`, and its JSON, CSV and Arrow forms.

This is the only definition of the record's shape. ``moderation score`` writes it (JSONL, CSV),
the Ray engine writes it (JSONL, Parquet), the service answers ``POST /v1/threads`` with it (and
its response schema is generated from it, see ``serve/schemas.py``), the Python API returns it,
and the summary, the HTML report and ``--resume`` read it.

JSON form (one object per line in JSONL)::

    {"thread": {"source": str, "title": str|null}, "kind": "comment"|"article",
     "id": str, "author": str|null, "posted_at": ISO-8601|null, "parent_id": str|null,
     "status": "approved"|"pending"|"spam"|"trash"|"deleted", "text": str,
     "scores": {LABEL: float, ...}, "flags": [LABEL, ...], "decision": "allow"|"review"|"reject",
     "spans": [{"start": int, "end": int, "label": str, "score": float}, ...]}

``scores`` holds every label of the model in the model's order; span offsets are characters of
``text``. A comment that could not be scored (an empty text, or one over the service's limit)
is the same record with ``"error": {"code": int, "message": str}`` in place of the four result
fields (``scores``, ``flags``, ``decision``, ``spans``).

CSV form (:meth:`ScoredRecord.csv_header`, :meth:`ScoredRecord.csv_row`): ``thread_source``,
``thread_title``, ``kind``, ``id``, ``author``, ``posted_at``, ``parent_id``, ``status``,
``text``, ``decision``, ``flags`` (``;``-separated), one ``score_LABEL`` column per label and
``spans`` as JSON. A text cell a spreadsheet would run as a formula gets a leading ``'``
(OWASP's advice against CSV injection); :meth:`ScoredRecord.from_csv_row` reads it back without.

Arrow form (:meth:`ScoredRecord.arrow_schema`): one column per JSON field, ``scores`` a struct
with one float64 field per label; pyarrow is imported only when it is asked for.

Importing this module is cheap (no torch, numpy or pyarrow).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from moderation.policy import DECISIONS, Decision
from moderation.thread import STATUSES, Comment, Status, json_kind

if TYPE_CHECKING:
    import pyarrow as pa

Kind = Literal["comment", "article"]
KINDS: tuple[Kind, ...] = ("comment", "article")

# The fields every record has (the comment), then those of a scored one; an error record has
# ``error`` instead of the result fields.
COMMENT_FIELDS = ("thread", "kind", "id", "author", "posted_at", "parent_id", "status", "text")
RESULT_FIELDS = ("scores", "flags", "decision", "spans")
# CSV columns taken from the record as they are, between the thread's two and the flags.
_CSV_FIELDS = ("kind", "id", "author", "posted_at", "parent_id", "status", "text", "decision")


def _doc(text: str) -> dict[str, str]:
    """Field metadata: what the field means (the service's schema shows it)."""
    return {"description": text}


@dataclass(frozen=True)
class RecordThread:
    """The thread a record's comment belongs to: where it was read from and its title."""

    source: str
    title: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "title": self.title}


@dataclass(frozen=True)
class Span:
    """Characters [start, end) of the text that carry the finding for ``label``."""

    start: int
    end: int
    label: str
    score: float = field(metadata=_doc("the highest token probability for the label within the span"))

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "label": self.label, "score": self.score}

    @classmethod
    def from_json(cls, data: Any, where: str = "span") -> Span:
        data = _object(data, where)
        start, end = _int(data, "start", where), _int(data, "end", where)
        return cls(start, end, _str(data, "label", where), _number(data.get("score"), f"{where}.score"))


@dataclass(frozen=True)
class RecordError:
    """Why a comment was not scored."""

    code: int = field(metadata=_doc("the HTTP status this item alone would have had"))
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class ScoredRecord:
    """One comment (or article body) and what the model and the policy said about it.

    Either scored (``scores``, ``flags``, ``decision`` and ``spans`` set, ``error`` None) or
    failed (``error`` set, the result fields None); :attr:`failed` tells which. Build one with
    :meth:`scored` or :meth:`unscored`; :meth:`to_json` and :meth:`from_json` convert to and from
    the JSON form.
    """

    thread: RecordThread
    kind: Kind
    id: str
    author: str | None
    posted_at: str | None = field(metadata=_doc("ISO 8601"))
    parent_id: str | None
    status: Status
    text: str
    scores: Mapping[str, float] | None = field(
        default=None, metadata=_doc("calibrated probability per label"))
    flags: tuple[str, ...] | None = field(
        default=None, metadata=_doc("labels at or above their threshold"))
    decision: Decision | None = None
    spans: tuple[Span, ...] | None = None
    error: RecordError | None = None

    def __post_init__(self) -> None:
        results = [getattr(self, name) is None for name in RESULT_FIELDS]
        if self.error is None and any(results):
            raise ValueError(f"record {self.id!r}: a scored record needs "
                             f"{', '.join(RESULT_FIELDS)}; a failed one needs error")
        if self.error is not None and not all(results):
            raise ValueError(f"record {self.id!r}: a failed record (error) has no "
                             f"{', '.join(RESULT_FIELDS)}")

    @property
    def failed(self) -> bool:
        """Whether the comment could not be scored (see :attr:`error`)."""
        return self.error is not None

    @classmethod
    def scored(cls, thread: RecordThread, kind: Kind, comment: Comment, scores: Mapping[str, float],
               flags: Sequence[str], decision: Decision, spans: Iterable[Span]) -> ScoredRecord:
        """The record of a scored :class:`~moderation.thread.Comment`."""
        return cls(thread, kind, comment.id, comment.author,
                   None if comment.posted_at is None else comment.posted_at.isoformat(),
                   comment.parent_id, comment.status, comment.text,
                   scores, tuple(flags), decision, tuple(spans))

    @classmethod
    def unscored(cls, thread: RecordThread, kind: Kind, comment: Comment, code: int,
                        message: str, text: str | None = None) -> ScoredRecord:
        """The record of a comment that was not scored: ``code`` (an HTTP status: 422 for an
        empty text, 413 for one over a limit) and ``message`` say why. ``text`` replaces the
        comment's text (the service cuts one over its limit)."""
        return cls(thread, kind, comment.id, comment.author,
                   None if comment.posted_at is None else comment.posted_at.isoformat(),
                   comment.parent_id, comment.status, comment.text if text is None else text,
                   error=RecordError(code, message))

    # JSON ---------------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The JSON form (a dict ready for ``json.dumps``), keys in the documented order."""
        out: dict[str, Any] = {
            "thread": self.thread.to_json(),
            "kind": self.kind,
            "id": self.id,
            "author": self.author,
            "posted_at": self.posted_at,
            "parent_id": self.parent_id,
            "status": self.status,
            "text": self.text,
        }
        if self.error is not None:
            out["error"] = self.error.to_json()
            return out
        # __post_init__ refuses a record with no error that lacks any of them.
        assert self.scores is not None and self.flags is not None and self.spans is not None  # noqa: S101
        out["scores"] = dict(self.scores)
        out["flags"] = list(self.flags)
        out["decision"] = self.decision
        out["spans"] = [span.to_json() for span in self.spans]
        return out

    @classmethod
    def from_json(cls, data: Any, where: str = "record") -> ScoredRecord:
        """A record from its JSON form; ValueError naming the field when it is not one."""
        data = _object(data, where)
        thread = _object(data.get("thread"), f"{where}.thread")
        kind = data.get("kind")
        if kind not in KINDS:
            raise ValueError(f"{where}.kind: must be one of {', '.join(KINDS)}, got {kind!r}")
        status = data.get("status")
        if status not in STATUSES:
            raise ValueError(f"{where}.status: must be one of {', '.join(STATUSES)}, got {status!r}")
        common = dict(
            thread=RecordThread(_str(thread, "source", f"{where}.thread"),
                                _opt_str(thread, "title", f"{where}.thread")),
            kind=kind, id=_str(data, "id", where), author=_opt_str(data, "author", where),
            posted_at=_opt_str(data, "posted_at", where), parent_id=_opt_str(data, "parent_id", where),
            status=status, text=_str(data, "text", where),
        )
        if "error" in data:
            error = _object(data["error"], f"{where}.error")
            return cls(**common, error=RecordError(_int(error, "code", f"{where}.error"),
                                                   _str(error, "message", f"{where}.error")))
        scores = _object(data.get("scores"), f"{where}.scores")
        flags = _list(data.get("flags"), f"{where}.flags")
        if not all(isinstance(flag, str) for flag in flags):
            raise ValueError(f"{where}.flags: expected a list of label names")
        decision = data.get("decision")
        if decision not in DECISIONS:
            raise ValueError(f"{where}.decision: must be one of {', '.join(DECISIONS)}, got {decision!r}")
        spans = _list(data.get("spans"), f"{where}.spans")
        return cls(
            **common,
            scores={label: _number(value, f"{where}.scores.{label}") for label, value in scores.items()},
            flags=tuple(flags), decision=decision,
            spans=tuple(Span.from_json(span, f"{where}.spans[{i}]") for i, span in enumerate(spans)),
        )

    # CSV ----------------------------------------------------------------------------------------

    @staticmethod
    def csv_header(labels: Sequence[str]) -> list[str]:
        """The CSV columns for a model with ``labels``."""
        return ["thread_source", "thread_title", *_CSV_FIELDS, "flags",
                *(f"score_{label}" for label in labels), "spans"]

    def csv_row(self, labels: Sequence[str]) -> list[Any]:
        """The CSV cells of this record (a scored one: CSV has no columns for an error)."""
        if self.error is not None or self.scores is None or self.flags is None or self.spans is None:
            raise ValueError(f"record {self.id!r} was not scored ({self.error}); "
                             "its CSV form would have no scores: write it as JSON")
        return [
            _cell(self.thread.source), _cell(self.thread.title), *(_cell(getattr(self, k)) for k in _CSV_FIELDS),
            _cell(";".join(self.flags)), *(self.scores[label] for label in labels),
            json.dumps([span.to_json() for span in self.spans]),
        ]

    @classmethod
    def from_csv_row(cls, row: Sequence[str], labels: Sequence[str]) -> ScoredRecord:
        """A CSV row read back as the record it was written from (empty optional cells read as
        None). ValueError or IndexError when the row is not one."""
        n = len(_CSV_FIELDS)
        if len(row) != 4 + n + len(labels):
            raise ValueError(f"expected {4 + n + len(labels)} cells, got {len(row)}")
        values = dict(zip(_CSV_FIELDS, (_restored(v) for v in row[2 : 2 + n]), strict=True))
        scores = row[3 + n : 3 + n + len(labels)]
        return cls.from_json({
            "thread": {"source": _restored(row[0]), "title": _restored(row[1]) or None},
            **{k: (v or None) if k in ("author", "posted_at", "parent_id") else v
               for k, v in values.items()},
            "scores": {label: float(v) for label, v in zip(labels, scores, strict=True)},
            "flags": [f for f in _restored(row[2 + n]).split(";") if f],
            "spans": json.loads(row[-1]),
        })

    # Arrow --------------------------------------------------------------------------------------

    @staticmethod
    def arrow_schema(labels: Sequence[str]) -> pa.Schema:
        """The Arrow schema of scored records for a model with ``labels`` (imports pyarrow)."""
        import pyarrow as pa

        return pa.schema([
            ("thread", pa.struct([("source", pa.string()), ("title", pa.string())])),
            ("kind", pa.string()),
            ("id", pa.string()),
            ("author", pa.string()),
            ("posted_at", pa.string()),
            ("parent_id", pa.string()),
            ("status", pa.string()),
            ("text", pa.string()),
            ("scores", pa.struct([(label, pa.float64()) for label in labels])),
            ("flags", pa.list_(pa.string())),
            ("decision", pa.string()),
            ("spans", pa.list_(pa.struct([("start", pa.int64()), ("end", pa.int64()),
                                          ("label", pa.string()), ("score", pa.float64())]))),
        ])

    @classmethod
    def arrow_table(cls, records: Sequence[ScoredRecord], labels: Sequence[str]) -> pa.Table:
        """Scored records as one Arrow table of :meth:`arrow_schema` (the same schema whatever
        the records hold, so parts written apart read together)."""
        import pyarrow as pa

        failed = next((r for r in records if r.error is not None), None)
        if failed is not None:
            raise ValueError(f"record {failed.id!r} was not scored ({failed.error}); "
                             "the Arrow form holds scored records only")
        return pa.Table.from_pylist([r.to_json() for r in records], schema=cls.arrow_schema(labels))


def as_record(value: ScoredRecord | Mapping[str, Any], where: str = "record") -> ScoredRecord:
    """``value`` if it is a record, else a record read from its JSON form (from a file)."""
    return value if isinstance(value, ScoredRecord) else ScoredRecord.from_json(value, where)


# CSV cells ----------------------------------------------------------------------------------------

def _cell(value: Any) -> Any:
    if value is None:
        return ""
    return _neutral(value) if isinstance(value, str) else value


def _is_formula(value: str) -> bool:
    # Spreadsheets run a cell starting with = + - @ as a formula (OWASP's CSV injection list),
    # also after leading spaces, which some of them skip; a leading tab or carriage return is
    # on OWASP's list as well.
    return value.startswith(("\t", "\r")) or value.lstrip()[:1] in ("=", "+", "-", "@")


def _neutral(value: str) -> str:
    """``value`` with a ``'`` before it if a spreadsheet would run it as a formula, as OWASP
    recommends. A value whose leading quotes come before such a formula gets one more, so
    :func:`_restored` reads every cell back exactly."""
    return "'" + value if _is_formula(value.lstrip("'")) else value


def _restored(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and _is_formula(cell.lstrip("'")) else cell


# JSON checks --------------------------------------------------------------------------------------

def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected a JSON object, got {json_kind(value)}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{where}: expected a list, got {json_kind(value)}")
    return value


def _str(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{where}.{key}: expected a string, got {json_kind(value)}")
    return value


def _opt_str(data: dict[str, Any], key: str, where: str) -> str | None:
    return None if data.get(key) is None else _str(data, key, where)


def _int(data: dict[str, Any], key: str, where: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where}.{key}: expected a whole number, got {json_kind(value)}")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where}: expected a number, got {json_kind(value)}")
    return float(value)
