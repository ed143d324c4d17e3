"""The scored record: one type, its JSON, CSV and Arrow forms, and its two states (scored or
not). No model needed."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from moderation.record import RecordError, RecordThread, ScoredRecord, Span, as_record
from moderation.thread import Comment

LABELS = ["hostility", "insult"]
THREAD = RecordThread("export.xml", "River market news")


def scored(comment: Comment, hostility: float = 0.91, spans: tuple[Span, ...] = ()) -> ScoredRecord:
    flags = ["hostility"] if hostility >= 0.5 else []
    return ScoredRecord.scored(THREAD, "comment", comment, {"hostility": hostility, "insult": 0.02},
                               flags, "review" if flags else "allow", spans)


FULL = Comment(id="c1", text="you vile clown", author="ann", parent_id="c0",
               posted_at=datetime(2025, 3, 1, 9, 30, tzinfo=UTC))
BARE = Comment(id="c2", text="bread and coffee")


def test_json_form_is_the_documented_one_key_for_key() -> None:
    record = scored(FULL, spans=(Span(4, 8, "hostility", 0.8731),))
    # The line `moderation score` wrote before the record had a type, byte for byte.
    assert json.dumps(record.to_json(), ensure_ascii=False) == (
        '{"thread": {"source": "export.xml", "title": "River market news"}, "kind": "comment", '
        '"id": "c1", "author": "ann", "posted_at": "2025-03-01T09:30:00+00:00", "parent_id": "c0", '
        '"status": "approved", "text": "you vile clown", "scores": {"hostility": 0.91, "insult": 0.02}, '
        '"flags": ["hostility"], "decision": "review", '
        '"spans": [{"start": 4, "end": 8, "label": "hostility", "score": 0.8731}]}')
    assert ScoredRecord.from_json(json.loads(json.dumps(record.to_json()))) == record


def test_a_comment_not_scored_is_the_same_type_with_an_error_in_place_of_the_result() -> None:
    record = ScoredRecord.unscored(THREAD, "comment", BARE, 422, "the text is empty")
    assert record.failed and record.error == RecordError(422, "the text is empty")
    assert record.scores is None and record.flags is None and record.decision is None
    data = record.to_json()
    assert list(data) == ["thread", "kind", "id", "author", "posted_at", "parent_id", "status",
                          "text", "error"]
    assert data["error"] == {"code": 422, "message": "the text is empty"}
    assert ScoredRecord.from_json(data) == record
    cut = ScoredRecord.unscored(THREAD, "comment", FULL, 413, "too long", text="you")
    assert cut.text == "you" and not scored(FULL).failed


def test_a_record_is_either_scored_or_failed() -> None:
    with pytest.raises(ValueError, match="a scored record needs"):
        ScoredRecord(THREAD, "comment", "x", None, None, None, "approved", "t", scores={"a": 1.0})
    with pytest.raises(ValueError, match="has no scores"):
        ScoredRecord(THREAD, "comment", "x", None, None, None, "approved", "t", scores={},
                     flags=(), decision="allow", spans=(), error=RecordError(500, "failed"))


@pytest.mark.parametrize(("change", "message"), [
    ({"scores": "high"}, "record.scores: expected a JSON object, got a string"),
    ({"scores": {"hostility": "0.9"}}, "record.scores.hostility: expected a number"),
    ({"decision": "ban"}, "record.decision: must be one of allow, review, reject"),
    ({"kind": "reply"}, "record.kind: must be one of comment, article"),
    ({"thread": None}, "record.thread: expected a JSON object, got null"),
    ({"spans": [{"start": 0, "end": "4", "label": "x", "score": 1}]},
     r"record.spans\[0\].end: expected a whole number"),
    ({"flags": ["hostility", 3]}, "record.flags: expected a list of label names"),
    ({"id": None}, "record.id: expected a string, got null"),
])
def test_reading_json_names_the_field_that_is_wrong(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ScoredRecord.from_json({**scored(FULL).to_json(), **change})


def test_as_record_reads_json_dicts_and_passes_records_through() -> None:
    record = scored(FULL)
    assert as_record(record) is record
    assert as_record(record.to_json()) == record


def test_csv_form_round_trips_with_formulas_neutralised() -> None:
    formula = Comment(id="=1+1", text="-2 is @everyone", author=None)
    records = [scored(FULL, spans=(Span(4, 8, "hostility", 0.5),)), scored(BARE, 0.1), scored(formula)]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(ScoredRecord.csv_header(LABELS))
    for record in records:
        writer.writerow(record.csv_row(LABELS))
    rows = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert rows[0] == ["thread_source", "thread_title", "kind", "id", "author", "posted_at",
                       "parent_id", "status", "text", "decision", "flags", "score_hostility",
                       "score_insult", "spans"]
    assert rows[3][3] == "'=1+1" and rows[3][8] == "'-2 is @everyone" and rows[2][4] == ""
    assert [ScoredRecord.from_csv_row(row, LABELS) for row in rows[1:]] == records
    with pytest.raises(ValueError, match="expected 14 cells"):
        ScoredRecord.from_csv_row(rows[1][:-1], LABELS)
    with pytest.raises(ValueError, match="was not scored"):
        ScoredRecord.unscored(THREAD, "comment", BARE, 422, "empty").csv_row(LABELS)


def test_arrow_schema_is_the_same_whatever_a_shard_holds(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    rich = [scored(FULL, spans=(Span(4, 8, "hostility", 0.8),))]
    plain = [scored(BARE, 0.1)]  # no author, time, parent, flags or spans: nothing to infer from
    schemas = []
    for name, records in (("rich", rich), ("plain", plain), ("empty", [])):
        pq.write_table(ScoredRecord.arrow_table(records, LABELS), str(tmp_path / f"{name}.parquet"))
        table = pq.read_table(str(tmp_path / f"{name}.parquet"))
        schemas.append(table.schema)
        assert [ScoredRecord.from_json(row) for row in table.to_pylist()] == records
    assert schemas[0] == schemas[1] == schemas[2] == ScoredRecord.arrow_schema(LABELS)
    assert ScoredRecord.arrow_schema(LABELS).field("scores").type.names == LABELS
    with pytest.raises(ValueError, match="scored records only"):
        ScoredRecord.arrow_table([ScoredRecord.unscored(THREAD, "comment", BARE, 422, "empty")], LABELS)


def test_importing_the_record_loads_no_heavy_library() -> None:
    import subprocess
    import sys

    code = ("import sys, moderation.record; "
            "print(sorted(m for m in ('torch', 'numpy', 'pyarrow', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
