"""What every dataset recipe shares: the recipe record and small helpers for the loaders.

A loader reads one public dataset folder in its upstream format and returns every example in
it, mapped onto our labels. It sets only the labels the dataset really annotates (positive or
negative); everything else stays unknown and is masked in the loss.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from moderation.encoding import decode
from moderation.errors import DataError, ParseError
from moderation.labelled import Example, LoadReport, Span
from moderation.labels import HOSTILITY, LABELS, PROPAGANDA, default_groups
from moderation.parsers.clean import unescape
from moderation.rows import RowReport, read_rows


class Loader(Protocol):
    def __call__(self, folder: Path, report: LoadReport | None = None) -> list[Example]: ...


@dataclass(frozen=True)
class DatasetRecipe:
    """One public dataset: where it lives, its licence, and how it maps onto our labels.

    ``mapping`` is for the model card (source label -> our label(s), as text); ``cap`` is how
    many training examples the default recipe keeps (``--max-per-dataset`` can only lower it);
    ``repeat`` is how many times each kept example with a positive label is trained on (beyond
    the cap); ``notes`` records the mapping decisions a reader of the card needs to know.
    """

    name: str
    licence: str
    taught: str
    mapping: Mapping[str, str]
    load: Loader
    cap: int
    notes: str = ""
    # Whether its calm examples also teach "no propaganda" (see ``calm_negatives``).
    calm_negatives: bool = False
    # False for examples the project writes itself: no folder to read, and nothing held out
    # (the functional suite measures what they teach).
    folder: bool = True
    repeat: int = 1


# Techniques whose positives come only from rhetoric corpora (fallacy sentences, merged PTC
# classes): a flood of everyday negatives would swamp their few positives, so for them a calm
# comment stays unknown, as it was.
RARE_TECHNIQUES = frozenset({"whataboutism", "straw_man", "red_herring", "bandwagon",
                             "reductio_ad_hitlerum"})
CALM_NEGATIVES: tuple[str, ...] = tuple(
    label.name for label in LABELS
    if label.group == PROPAGANDA and label.name not in RARE_TECHNIQUES)
CALM_MAPPING = {"calm comments (no hostility label positive)":
                f"{PROPAGANDA} and its common techniques 0"}


def calm_negatives(example: Example) -> Example:
    """An everyday comment annotated as not hostile, also marked as showing no propaganda.

    The propaganda sources are news articles and fallacy sentences, so without this the
    model never sees a reader's calm comment as a propaganda negative and flags most of them.
    Only examples whose hostility is known and every known hostility label is negative
    qualify; one that already carries a propaganda label is left as it is.
    """
    labels = example.labels
    groups = default_groups(list(labels))
    if (HOSTILITY not in labels or PROPAGANDA in groups
            or any(labels[name] >= 0.5 for name in groups[HOSTILITY])):
        return example
    return replace(example, labels={**labels, **dict.fromkeys(CALM_NEGATIVES, 0.0)})


def require(folder: Path, *names: str) -> None:
    """Fail early, naming the file, when a dataset folder lacks one of its files."""
    for name in names:
        if not (folder / name).is_file():
            raise DataError(f"{folder / name}: missing (is {folder} a complete copy of the dataset?)")


def read_table(path: Path, columns: Iterable[str], *, report: LoadReport, delimiter: str = ",",
               quoted: bool = True) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) pairs of a CSV/TSV file, read by the rules every command shares
    (:func:`moderation.rows.read_rows`), after checking that the needed columns are there.
    Lines that cannot be read are skipped and counted in ``report``.

    ``quoted=False`` reads quote characters as text (files that never quote their fields)."""
    table = RowReport()
    try:
        for row in read_rows(path, "tsv" if delimiter == "\t" else "csv", require=tuple(columns),
                             quotes=quoted, report=table):
            yield row.line, row.values
    except ParseError as exc:
        raise DataError(str(exc)) from None
    report.unreadable(path, table)


def read_lines(path: Path) -> list[str]:
    """The lines of a text file, decoded by the rules every input follows; a file that needs
    repairs is refused (its line numbers pair with another file's)."""
    try:
        decoded = decode(path.read_bytes())
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if decoded.replaced:
        raise DataError(f"{path}: {decoded.warnings[-1]}; convert the file to UTF-8")
    return decoded.text.splitlines()


def clean_post(text: str) -> str:
    """Social-media text as exported upstream: HTML entities decoded (tweets carry ``&amp;``).

    Only for datasets without character offsets: decoding would shift them.
    """
    return unescape(text).strip()


def char_runs(offsets: Iterable[int]) -> list[tuple[int, int]]:
    """Contiguous (start, end) runs from a set of character offsets."""
    runs: list[list[int]] = []
    for offset in sorted(set(offsets)):
        if runs and offset == runs[-1][1]:
            runs[-1][1] = offset + 1
        else:
            runs.append([offset, offset + 1])
    return [(start, end) for start, end in runs]


def visible_spans(text: str, spans: Iterable[Span]) -> list[Span]:
    """Spans that cover some non-space character, trimmed of surrounding whitespace."""
    kept = []
    for span in spans:
        piece = text[span.start:span.end]
        if not piece.strip():
            continue
        start = span.start + (len(piece) - len(piece.lstrip()))
        end = span.end - (len(piece) - len(piece.rstrip()))
        kept.append(Span(start, end, span.label))
    return kept


def span_labels_with_evidence(labels: Mapping[str, float], spans: Iterable[Span],
                              annotated: Iterable[str]) -> frozenset[str]:
    """The annotated span labels minus any positive label that ended up without a span.

    A positive label with no span would teach the token head that no character shows it.
    """
    with_spans = {span.label for span in spans}
    return frozenset(name for name in annotated
                     if labels.get(name, 0.0) < 0.5 or name in with_spans)


class Deduper:
    """Keeps the first example of each text: the same text in train and validation would
    make validation scores look better than they are."""

    def __init__(self, report: LoadReport) -> None:
        self.seen: set[str] = set()
        self.report = report

    def first(self, text: str) -> bool:
        if text in self.seen:
            self.report.skip("duplicate text")
            return False
        self.seen.add(text)
        return True


# A row of a dataset labelled by class: its raw text and our labels, or a reason to skip it.
LabelledRow = tuple[str, "Mapping[str, float] | str"]


def class_examples(rows: Iterable[LabelledRow], source: str, report: LoadReport,
                   clean: Callable[[str], str] = clean_post) -> list[Example]:
    """Examples from rows whose labels come from a class column: texts cleaned, rows with a
    skip reason, empty texts and repeated texts counted in ``report`` and left out."""
    dedupe = Deduper(report)
    examples = []
    for raw, labels in rows:
        report.rows += 1
        if isinstance(labels, str):
            report.skip(labels)
            continue
        text = clean(raw)
        if not text:
            report.skip("empty text")
        elif dedupe.first(text):
            examples.append(Example(text, dict(labels), source=source))
    return examples
