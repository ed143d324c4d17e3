"""The one loader for labelled data, shared by training and evaluation.

A labelled file is CSV, TSV or JSONL with a text column and either label columns (0/1 or
probabilities) or, in JSONL, ``labels``: a list of the row's positive labels (the labels any row
lists are then known for every row that has a list), or an object of label columns
(``{"hostility": 1, "insult": 0}``, the shape the service's feedback takes). Optional ``spans``
(``[{"start", "end", "label"}]``).
The file is read by the rules every command shares (:func:`moderation.rows.read_rows`: file
kinds, encodings, headers); a line that cannot be read is skipped and counted in the
:class:`LoadReport` with where it is, and the good rows are kept. A small mapping file (JSON or
TOML) renames the user's columns onto our labels::

    text = "comment_text"                      # the text column (default "text")
    annotates = ["hostility", "insult"]        # optional: labels this file annotates
    span_labels = ["hostility"]                # optional: labels whose spans are annotated
    [labels]                                   # source column -> our label, or several
    toxic = "hostility"
    "Whataboutism,Straw_Men" = ["whataboutism", "straw_man"]
    [values.subtask_a]                         # categorical column -> number
    OFF = 1
    NOT = 0

In JSONL a row may leave out labels (they are unknown for that row) and name labels the first
row does not. ``id``, ``thread``, ``community`` and ``received`` (where and when the text was
seen, as the service's feedback store writes them) are carried along, never read as labels. A
last line cut short (a writer stopped mid-line) is skipped and counted as such. A row may
list its own ``span_labels``: the labels whose evidence its ``spans`` mark completely (a
moderator who marked the insult in one comment said nothing about its threat tokens); without
it, a row with ``spans`` takes the file's span labels.

Labels a file does not annotate are *unknown*, not negative: ``Example.labels`` holds only the
known ones and the loss is masked for the rest. A source column mapped onto several of our
labels is a merged category: a positive row says one of them applies but not which, so its
members become unknown; a negative row makes them all negative.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moderation.encoding import decode
from moderation.errors import DataError, ParseError
from moderation.labels import BY_NAME, DEFAULT_LABELS, did_you_mean
from moderation.rows import RowReport, read_rows

_TRUE = {"true", "yes", "y"}
_FALSE = {"false", "no", "n"}
_MISSING = {"", "na", "nan", "null", "none"}
# Columns that say where a row came from, never labels.
METADATA = ("id", "thread", "community", "received")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    label: str


@dataclass(frozen=True)
class Example:
    """One labelled text. ``labels`` holds the known labels only, as probabilities in [0, 1].

    ``span_labels`` are the labels whose evidence spans are annotated for this text: for those,
    characters outside ``spans`` are known negatives; for other labels token targets are unknown.
    """

    text: str
    labels: Mapping[str, float]
    spans: tuple[Span, ...] = ()
    span_labels: frozenset[str] = frozenset()
    source: str = ""


@dataclass
class LoadReport:
    """What a load read and what it skipped, so nothing is dropped silently."""

    rows: int = 0  # rows and unreadable lines seen; ``skipped`` says how many were not kept
    skipped: dict[str, int] = field(default_factory=dict)
    ignored_columns: set[str] = field(default_factory=set)
    first_skipped: dict[str, str] = field(default_factory=dict)  # why -> where it first was
    warnings: list[str] = field(default_factory=list)  # decoding repairs, per file

    def skip(self, why: str, where: str | None = None) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1
        if where is not None:
            self.first_skipped.setdefault(why, where)

    def unreadable(self, path: str | Path, table: RowReport) -> None:
        """Count the lines reading ``path`` skipped, and its decoding repairs."""
        for bad in table.bad:
            self.rows += 1
            self.skip(bad.reason, f"{path}:{bad.line}" + (f" ({bad.detail})" if bad.detail else ""))
        self.warnings.extend(f"{path}: {warning}" for warning in table.warnings)

    def ignored(self) -> str:
        """The columns no label was read from, each with the label it likely meant."""
        shown = (f"{c}{did_you_mean(c, DEFAULT_LABELS)}" for c in sorted(self.ignored_columns))
        return f"columns ignored: {', '.join(shown)}"

    def summary(self) -> str:
        parts = [f"{self.rows} row(s) read"]
        parts += [f"{n} skipped ({why}" + (f", first at {self.first_skipped[why]}"
                                           if why in self.first_skipped else "") + ")"
                  for why, n in sorted(self.skipped.items())]
        if self.ignored_columns:
            parts.append(self.ignored())
        parts += self.warnings
        return "; ".join(parts)


@dataclass(frozen=True)
class ColumnMapping:
    """How a file's columns map onto our labels (see the module docstring)."""

    text: str = "text"
    labels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    values: dict[str, dict[str, float]] = field(default_factory=dict)
    annotates: tuple[str, ...] | None = None
    span_labels: tuple[str, ...] | None = None



def load_mapping(path: str | Path) -> ColumnMapping:
    """Read a mapping file (``.toml`` or ``.json``)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the mapping file: {exc.strerror or exc}") from None
    text = decode(raw).text  # a byte-order mark (Notepad writes one) is not TOML or JSON
    try:
        if path.suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        else:
            data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a valid mapping file: {exc}") from None
    return mapping_from_dict(data, str(path))


def mapping_from_dict(data: Mapping[str, Any], where: str = "mapping") -> ColumnMapping:
    unknown = set(data) - {"text", "labels", "values", "annotates", "span_labels"}
    if unknown:
        raise DataError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    labels: dict[str, tuple[str, ...]] = {}
    for column, target in (data.get("labels") or {}).items():
        targets = (target,) if isinstance(target, str) else tuple(target)
        if not targets or not all(isinstance(t, str) for t in targets):
            raise DataError(f"{where}: labels.{column} must be a label name or a list of names")
        labels[column] = targets
    values = {
        column: {str(k): float(v) for k, v in table.items()}
        for column, table in (data.get("values") or {}).items()
    }
    annotates = data.get("annotates")
    span_labels = data.get("span_labels")
    return ColumnMapping(
        text=str(data.get("text", "text")),
        labels=labels,
        values=values,
        annotates=None if annotates is None else tuple(annotates),
        span_labels=None if span_labels is None else tuple(span_labels),
    )


def _rows(path: Path, report: LoadReport) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) pairs from a CSV, TSV or JSONL file, read by the rules of
    :func:`moderation.rows.read_rows`; the lines it skips are counted in ``report`` with the
    place of the first."""
    table = RowReport()
    try:
        for row in read_rows(path, report=table):
            yield row.line, row.values
    except ParseError as exc:
        raise DataError(str(exc)) from None
    report.unreadable(path, table)


def _lifted(row: dict[str, Any], where: str) -> dict[str, Any]:
    """The row with the entries of a ``labels`` object as label columns; a list stays."""
    given = row.get("labels")
    if given is None or given == "" or isinstance(given, list):
        return row
    if not isinstance(given, dict):
        raise DataError(f"{where}: labels must be a list of the positive labels or an object of "
                        f"label: value (such as {{\"hostility\": 1}}), not {given!r}")
    clash = sorted(set(given) & set(row))
    if clash:
        raise DataError(f"{where}: {', '.join(clash)} given both in labels and as a column; keep one")
    return {**{k: v for k, v in row.items() if k != "labels"}, **given}


def _number(value: Any, where: str, table: Mapping[str, float] | None) -> float | None:
    """A label value as a probability, None when missing."""
    if table is not None:
        if value is None or str(value).strip().lower() in _MISSING:
            return None
        key = str(value).strip()
        if key not in table:
            raise DataError(f"{where}: value {key!r} is not in the mapping's values table")
        return table[key]
    if value is None or isinstance(value, bool):
        return None if value is None else float(value)
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = str(value).strip().lower()
        if text in _MISSING:
            return None
        if text in _TRUE or text in _FALSE:
            return 1.0 if text in _TRUE else 0.0
        try:
            number = float(text)
        except ValueError:
            raise DataError(f"{where}: {value!r} is not a number, true/false or empty") from None
    if math.isnan(number):
        return None
    if not 0.0 <= number <= 1.0:
        raise DataError(f"{where}: {number} is outside [0, 1]; map it with a values table")
    return number


def _spans(value: Any, where: str) -> list[Span]:
    if isinstance(value, str):
        if not value.strip():
            return []
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise DataError(f"{where}: spans must be a JSON list") from None
    if not isinstance(value, list):
        raise DataError(f"{where}: spans must be a list of {{start, end, label}}")
    spans = []
    for i, item in enumerate(value):
        try:
            span = Span(int(item["start"]), int(item["end"]), str(item["label"]))
        except (KeyError, TypeError, ValueError):
            raise DataError(f"{where}[{i}]: each span needs integer start, end and a label") from None
        if not 0 <= span.start < span.end:
            raise DataError(f"{where}[{i}]: start must be >= 0 and below end")
        spans.append(span)
    return spans


def load_labelled(
    path: str | Path,
    mapping: ColumnMapping | None = None,
    label_set: Sequence[str] | None = None,
    report: LoadReport | None = None,
) -> list[Example]:
    """Examples from one labelled file. Labels outside ``label_set`` (when given) are ignored
    and listed in ``report.ignored_columns``."""
    path = Path(path)
    mapping = mapping or ColumnMapping()
    report = report if report is not None else LoadReport()
    allowed = None if label_set is None else set(label_set)
    examples: list[Example] = []
    rows = [(number, _lifted(row, f"{path}:{number}")) for number, row in _rows(path, report)]
    if not rows:
        raise DataError(f"{path}: no rows")

    first = rows[0][1]
    if mapping.text not in first:
        raise DataError(
            f"{path}: no text column {mapping.text!r} (columns: {', '.join(map(str, first))}); "
            "name it in a mapping file (text = \"...\")"
        )
    list_mode = any(isinstance(row.get("labels"), list) for _, row in rows)
    # every row's keys, not the first row's: a JSONL row may name a label the first one leaves out
    keys = dict.fromkeys(key for _, row in rows for key in row)
    columns = _label_columns(keys, mapping, allowed, report, list_mode)
    listed: set[str] = set()
    if list_mode:
        for _, row in rows:
            if isinstance(row.get("labels"), list):
                listed.update(str(x) for x in row["labels"])
        if allowed is not None:
            report.ignored_columns.update(listed - allowed)
            listed &= allowed
    annotates = set(mapping.annotates) if mapping.annotates is not None else listed
    # Which labels' spans the file annotates: declared, else every label any row has a span for
    # (a row with an empty span list then says "no evidence" for those labels).
    if mapping.span_labels is not None:
        file_span_labels = frozenset(mapping.span_labels)
    else:
        file_span_labels = frozenset(
            s.label for _, row in rows if row.get("spans") not in (None, "")
            for s in _spans(row["spans"], f"{path}: spans")
        )

    for number, row in rows:
        report.rows += 1
        where = f"{path}:{number}"
        text = row.get(mapping.text)
        if not isinstance(text, str) or not text.strip():
            report.skip("empty text")
            continue
        labels: dict[str, float] = {}
        unknown: set[str] = set()
        if isinstance(row.get("labels"), list):
            positives = {str(x) for x in row["labels"]}
            for name in annotates:
                labels[name] = 1.0 if name in positives else 0.0
        for column, targets in columns.items():
            value = _number(row.get(column), f"{where}: column {column!r}", mapping.values.get(column))
            if value is None:
                continue
            if len(targets) > 1 and value > 0:
                unknown.update(targets)  # a merged category: which member applies is unknown
                continue
            for target in targets:
                labels[target] = max(labels.get(target, 0.0), value)
        for name in unknown:
            if labels.get(name, 0.0) == 0.0:
                labels.pop(name, None)
        spans: list[Span] = []
        raw_spans = row.get("spans")
        has_spans = raw_spans is not None and raw_spans != ""
        if has_spans:
            spans = [s for s in _spans(raw_spans, f"{where}: spans") if allowed is None or s.label in allowed]
            if any(s.end > len(text) for s in spans):
                report.skip("span beyond the end of the text")
                continue
        span_labels: frozenset[str] = frozenset()
        if has_spans:
            own = row.get("span_labels")
            if own is not None:
                if not isinstance(own, list) or not all(isinstance(x, str) for x in own):
                    raise DataError(f"{where}: span_labels must be a list of label names")
                row_span_labels = frozenset(own) | {s.label for s in spans}
            else:
                row_span_labels = file_span_labels
            span_labels = row_span_labels if allowed is None else row_span_labels & allowed
            for s in spans:  # a text with evidence for a label carries that label
                labels.setdefault(s.label, 1.0)
        examples.append(Example(text, labels, tuple(spans), span_labels, source=path.stem))
    return examples


def _label_columns(
    keys: Mapping[str, Any],
    mapping: ColumnMapping,
    allowed: set[str] | None,
    report: LoadReport,
    list_mode: bool,
) -> dict[str, tuple[str, ...]]:
    """Source column -> target labels, for the columns of this file."""
    reserved = {mapping.text, "spans", "span_labels", "labels", *METADATA}
    columns: dict[str, tuple[str, ...]] = {}
    for column in keys:
        if column in reserved:
            continue
        targets = mapping.labels.get(column)
        if targets is None:
            if allowed is None and not mapping.labels and not list_mode:
                targets = (column,)  # no mapping and no label set: columns are labels
            elif allowed is not None and column in allowed:
                targets = (column,)
        if targets is None:
            report.ignored_columns.add(column)
            continue
        kept = tuple(t for t in targets if allowed is None or t in allowed)
        if not kept:
            report.ignored_columns.add(column)
            continue
        columns[column] = kept if len(targets) > 1 else kept[:1]
    missing = set(mapping.labels) - set(keys)
    if missing:
        raise DataError(f"mapping names column(s) not in the file: {', '.join(sorted(missing))}")
    return columns


def infer_labels(example: Example, groups: Mapping[str, Sequence[str]],
                 judging: bool = False, negatives: bool = True) -> Example:
    """Labels that follow from the known ones, both ways within a group.

    A positive member makes the group's headline (the label named like the group) positive.
    A negative headline makes the members marked ``negative_with_headline`` negative where the
    data left them unknown: a comment known not to be hostile is no insult, threat, identity
    attack or profanity. ``judging`` (choosing thresholds, evaluating) applies
    ``judged_with_headline`` instead: a text known to use no technique uses none of them.
    ``negatives=False`` infers the headline only (adapting a trained model: see
    ``training/adapt.py``). Negative members never make the headline negative: a text with no
    known technique may still use one the file does not annotate.
    """
    labels = dict(example.labels)
    for group, members in groups.items():
        if group not in members:
            continue
        headline = labels.get(group)
        if headline is None:
            positive = max((labels.get(m, 0.0) for m in members if m != group), default=0.0)
            if positive > 0:
                labels[group] = positive
        elif headline < 0.5 and negatives:
            for member in members:
                label = BY_NAME.get(member)
                implied = label is not None and (label.judged_with_headline if judging
                                                 else label.negative_with_headline)
                if member not in labels and implied:
                    # A soft headline below 0.5 (annotators leaning "calm") counts as calm.
                    labels[member] = 0.0
    if labels == example.labels:
        return example
    return Example(example.text, labels, example.spans, example.span_labels, example.source)


def stratified_split(
    examples: Sequence[Example], val_fraction: float, seed: int = 13
) -> tuple[list[Example], list[Example]]:
    """A deterministic train/validation split, stratified by each example's rarest positive label.

    Stratifying on the rarest label keeps rare labels in both halves, which a random split of a
    few dozen positives does not.
    """
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"validation fraction must be between 0 and 1, got {val_fraction}")
    counts: dict[str, int] = {}
    for ex in examples:
        for name, value in ex.labels.items():
            if value >= 0.5:
                counts[name] = counts.get(name, 0) + 1
    strata: dict[str, list[int]] = {}
    for i, ex in enumerate(examples):
        positives = [n for n, v in ex.labels.items() if v >= 0.5]
        key = min(positives, key=lambda n: (counts[n], n)) if positives else ""
        strata.setdefault(f"{ex.source}/{key}", []).append(i)
    rng = random.Random(seed)
    val_idx: set[int] = set()
    for key in sorted(strata):
        members = strata[key]
        rng.shuffle(members)
        n_val = round(len(members) * val_fraction)
        if len(members) >= 2:
            n_val = min(max(n_val, 1), len(members) - 1)
        val_idx.update(members[:n_val])
    train = [ex for i, ex in enumerate(examples) if i not in val_idx]
    val = [ex for i, ex in enumerate(examples) if i in val_idx]
    return train, val


def require_labels(examples: Sequence[Example], paths: Sequence[str | Path], labels: Sequence[str],
                   report: LoadReport) -> None:
    """Refuse data in which no row annotates any of ``labels``: a misspelt or unmapped column
    leaves every label unknown, and a command would fit or measure nothing and say it worked."""
    if any(ex.labels for ex in examples):
        return
    ignored = f" ({report.ignored()})" if report.ignored_columns else ""
    raise DataError(f"{', '.join(map(str, paths))}: no row annotates any of the model's labels{ignored}; "
                    f"name the label columns as the model does ({', '.join(labels)}) or map them "
                    "in a mapping file (--mapping)")


def load_many(
    paths: Iterable[str | Path],
    mapping: ColumnMapping | None = None,
    label_set: Sequence[str] | None = None,
    report: LoadReport | None = None,
) -> list[Example]:
    examples: list[Example] = []
    for path in paths:
        examples.extend(load_labelled(path, mapping, label_set, report))
    return examples
