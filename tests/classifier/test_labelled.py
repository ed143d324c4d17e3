"""The one loader for labelled data: formats, mapping, unknown labels, merged categories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moderation.errors import DataError
from moderation.labelled import (
    Example,
    LoadReport,
    infer_labels,
    load_labelled,
    load_mapping,
    stratified_split,
)


def test_csv_with_label_columns_and_probabilities(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("text,hostility,insult\nyou are a fool,1,0.8\nlovely day,0,\n", encoding="utf-8")
    first, second = load_labelled(path)
    assert first.labels == {"hostility": 1.0, "insult": 0.8}
    assert second.labels == {"hostility": 0.0}  # an empty cell is unknown, not negative
    assert first.source == "d"


def test_tsv_and_mapping_with_values_table(tmp_path: Path) -> None:
    data = tmp_path / "d.tsv"
    data.write_text("tweet\tsubtask_a\tid\nget lost\tOFF\t1\nnice one\tNOT\t2\n", encoding="utf-8")
    mapping = tmp_path / "m.toml"
    mapping.write_text('text = "tweet"\n[labels]\nsubtask_a = "hostility"\n'
                       '[values.subtask_a]\nOFF = 1\nNOT = 0\n', encoding="utf-8")
    rows = load_labelled(data, load_mapping(mapping))
    assert [r.labels for r in rows] == [{"hostility": 1.0}, {"hostility": 0.0}]


def test_merged_category_marks_members_unknown_not_positive(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("text,Whataboutism,Doubt\nwhat about them,1,0\nplain,0,0\n", encoding="utf-8")
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({"labels": {"Whataboutism": ["whataboutism", "straw_man"],
                                              "Doubt": "doubt"}}))
    merged, plain = load_labelled(data, load_mapping(mapping))
    assert "whataboutism" not in merged.labels and "straw_man" not in merged.labels
    assert merged.labels == {"doubt": 0.0}
    assert plain.labels == {"whataboutism": 0.0, "straw_man": 0.0, "doubt": 0.0}


def test_jsonl_labels_list_and_spans(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    rows = [
        {"text": "you clown", "labels": ["insult"], "spans": [{"start": 4, "end": 9, "label": "insult"}]},
        {"text": "calm words", "labels": [], "spans": []},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    a, b = load_labelled(path)
    assert a.labels == {"insult": 1.0} and b.labels == {"insult": 0.0}
    assert a.spans[0].label == "insult" and a.text[a.spans[0].start:a.spans[0].end] == "clown"
    # both texts have their insult spans annotated: the second has none, a known negative
    assert a.span_labels == b.span_labels == frozenset({"insult"})


def test_jsonl_labels_object_reads_as_label_columns(tmp_path: Path) -> None:
    # The shape POST /v1/feedback takes: a file written by hand in it must not read as unlabelled.
    path = tmp_path / "d.jsonl"
    rows = [{"text": "get lost, clown", "labels": {"hostility": 1, "insult": 1, "spamminess": 1},
             "thread": "t1"},
            {"text": "the ferry was late", "labels": {"hostility": 0}},
            {"text": "we agree", "labels": ["insult"]},  # a list row beside object rows
            {"text": "no verdict yet"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = LoadReport()
    clown, ferry, agree, unknown = load_labelled(path, label_set=["hostility", "insult"], report=report)
    assert clown.labels == {"hostility": 1.0, "insult": 1.0}
    assert ferry.labels == {"hostility": 0.0}  # insult stays unknown: the row did not say
    assert agree.labels == {"insult": 1.0} and unknown.labels == {}
    assert report.ignored_columns == {"spamminess"}


@pytest.mark.parametrize(
    ("row", "message"),
    [({"text": "hi", "labels": "hostility"}, r"d.jsonl:1: labels must be a list .* or an object"),
     ({"text": "hi", "labels": {"hostility": 1}, "hostility": 0},
      r"d.jsonl:1: hostility given both in labels and as a column"),
     ({"text": "hi", "labels": {"hostility": "sure"}}, r"d.jsonl:1: column 'hostility': 'sure' is not a number")],
)
def test_bad_labels_objects_name_the_row(tmp_path: Path, row: dict[str, object], message: str) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(DataError, match=message):
        load_labelled(path)


def test_label_set_filters_and_reports_ignored_columns(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("text,hostility,spamminess\nhello,0,1\n,1,0\n", encoding="utf-8")
    report = LoadReport()
    rows = load_labelled(path, label_set=["hostility"], report=report)
    assert [r.labels for r in rows] == [{"hostility": 0.0}]
    assert report.ignored_columns == {"spamminess"}
    assert report.skipped == {"empty text": 1}
    assert "2 row(s) read" in report.summary() and "spamminess" in report.summary()


def test_an_ignored_column_one_typo_from_a_label_says_which_it_likely_meant(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("text,hostilty,Insults,spamminess\nhello,0,0,1\n", encoding="utf-8")
    report = LoadReport()
    [row] = load_labelled(path, label_set=["hostility", "insult"], report=report)
    assert row.labels == {}
    assert ("columns ignored: Insults (did you mean insult?), hostilty (did you mean hostility?), "
            "spamminess") in report.summary()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("text,hostility\nhi,2\n", r"d.csv:2: column 'hostility': 2.0 is outside \[0, 1\]"),
        ("text,hostility\nhi,maybe\n", r"d.csv:2: column 'hostility': 'maybe' is not a number"),
        ("comment,hostility\nhi,1\n", r"no text column 'text'.*mapping file"),
    ],
)
def test_bad_values_name_the_file_row_and_column(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "d.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        load_labelled(path)


def test_bad_span_and_unknown_file_type(tmp_path: Path) -> None:
    bad = tmp_path / "d.jsonl"
    bad.write_text(json.dumps({"text": "x y", "spans": [{"start": 2, "end": 1, "label": "a"}]}) + "\n")
    with pytest.raises(DataError, match=r"spans\[0\]: start must be >= 0 and below end"):
        load_labelled(bad)
    other = tmp_path / "d.xlsx"
    other.write_text("x")
    with pytest.raises(DataError, match=r"use \.csv, \.tsv or \.jsonl"):
        load_labelled(other)


def test_headlines_are_inferred_from_positive_members_only() -> None:
    groups = {"propaganda": ["propaganda", "doubt", "slogans"]}
    positive = infer_labels(Example("t", {"doubt": 1.0, "slogans": 0.0}), groups)
    assert positive.labels["propaganda"] == 1.0
    negative = infer_labels(Example("t", {"doubt": 0.0, "slogans": 0.0}), groups)
    assert "propaganda" not in negative.labels  # a technique not annotated may still be there


def test_a_text_using_no_technique_is_judged_to_use_none_but_not_taught_so() -> None:
    from moderation.labels import DEFAULT_LABELS, default_groups

    groups = default_groups(DEFAULT_LABELS)
    calm = Example("t", {"hostility": 0.0, "propaganda": 0.0, "loaded_language": 0.0})
    taught = infer_labels(calm, groups).labels
    judged = infer_labels(calm, groups, judging=True).labels
    assert taught["insult"] == 0.0 and "whataboutism" not in taught
    techniques = [n for n in groups["propaganda"] if n != "propaganda"]
    assert all(judged[n] == 0.0 for n in techniques)
    assert "incivility" not in judged  # a calm headline does not judge civility
    # adapting a model infers the headline only: the start model's scores stand for the rest
    adapting = infer_labels(Example("t", {"hostility": 0.0, "insult": 1.0}), groups, negatives=False)
    assert adapting.labels == {"hostility": 0.0, "insult": 1.0}
    assert infer_labels(calm, groups, negatives=False).labels == calm.labels
    assert infer_labels(Example("t", {"insult": 1.0}), groups, negatives=False).labels["hostility"] == 1.0
    # nothing is inferred from a headline that is positive or unknown
    unknown = infer_labels(Example("t", {"loaded_language": 0.0}), groups, judging=True)
    assert unknown.labels == {"loaded_language": 0.0}


def test_split_is_deterministic_and_keeps_rare_labels_on_both_sides() -> None:
    examples = [Example(f"text {i}", {"rare": float(i < 4), "common": float(i % 2)}) for i in range(100)]
    train1, val1 = stratified_split(examples, 0.2, seed=3)
    _, val2 = stratified_split(examples, 0.2, seed=3)
    assert [e.text for e in val1] == [e.text for e in val2]
    assert 18 <= len(val1) <= 22 and len(train1) + len(val1) == 100
    assert any(e.labels["rare"] for e in val1) and any(e.labels["rare"] for e in train1)
    assert not {e.text for e in val1} & {e.text for e in train1}


def test_jsonl_rows_name_their_own_labels_and_span_labels(tmp_path: Path) -> None:
    # the shape of a moderator's decisions exported from the report: each row holds only the
    # labels decided for it, plus the comment's id and thread, which are never labels
    path = tmp_path / "decisions.jsonl"
    rows = [
        {"text": "calm words", "hostility": 0, "id": "a", "thread": "River news"},
        {"text": "you clown", "insult": 1, "id": "b", "thread": "River news",
         "spans": [{"start": 4, "end": 9, "label": "insult"}], "span_labels": ["insult"]},
        {"text": "vile threat", "threat": 1, "hostility": 1, "id": "c", "thread": "River news",
         "spans": [{"start": 0, "end": 4, "label": "hostility"}], "span_labels": ["hostility"]},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = LoadReport()
    a, b, c = load_labelled(path, report=report)
    assert a.labels == {"hostility": 0.0}  # insult and threat unknown, not negative
    assert b.labels == {"insult": 1.0} and c.labels == {"threat": 1.0, "hostility": 1.0}
    assert not report.ignored_columns
    # each row's spans speak for its own span labels only: b says nothing of hostility tokens
    assert b.span_labels == {"insult"} and c.span_labels == {"hostility"}
    assert a.span_labels == frozenset()
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({**rows[1], "span_labels": "insult"}) + "\n")
    with pytest.raises(DataError, match=r"bad.jsonl:1: span_labels must be a list"):
        load_labelled(bad)
