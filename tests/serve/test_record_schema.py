"""The service's record schemas and moderation.record.ScoredRecord agree: the same field names in
the same order, the same JSON types, the same optionality. Checked against the dataclass's own
type hints, field by field, by a reading of them written here (not the one serve/schemas.py
uses), so a hand edit on either side, or a generator that loses a detail, fails."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from moderation.record import COMMENT_FIELDS, RESULT_FIELDS, RecordThread, ScoredRecord, Span
from moderation.thread import Comment
from serve.schemas import FailedComment, ScoredComment, ScoreResponse


def expected(hint: Any, nullable: bool = True) -> Any:
    """A hint as the JSON schema should say it (``nullable=False``: its None left out)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        rest = [a for a in args if a is not type(None)]
        assert len(rest) == 1, hint
        return ("nullable", expected(rest[0])) if nullable and len(args) == 2 else expected(rest[0])
    if origin is typing.Literal:
        return ("enum", tuple(args))
    if origin is tuple:
        return ("array", expected(args[0]))
    if origin is Mapping:
        return ("map", expected(args[1]))
    if dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        return ("model", tuple((f.name, expected(hints[f.name])) for f in dataclasses.fields(hint)))
    return {str: "string", int: "integer", float: "number"}[hint]


def actual(node: dict[str, Any], defs: dict[str, Any]) -> Any:
    """A node of pydantic's JSON schema in the same terms."""
    if "$ref" in node:
        model = defs[node["$ref"].rsplit("/", 1)[1]]
        assert set(model.get("required", [])) == set(model["properties"]), "every field is written"
        return ("model", tuple((name, actual(p, defs)) for name, p in model["properties"].items()))
    if "anyOf" in node:
        kinds = [b for b in node["anyOf"] if b != {"type": "null"}]
        assert len(kinds) == 1 and len(node["anyOf"]) == 2, node
        return ("nullable", actual(kinds[0], defs))
    if "enum" in node:
        return ("enum", tuple(node["enum"]))
    if node["type"] == "array":
        return ("array", actual(node["items"], defs))
    if node["type"] == "object":
        return ("map", actual(node["additionalProperties"], defs))
    return node["type"]


def fields_of(model: type[BaseModel]) -> list[tuple[str, Any]]:
    schema = model.model_json_schema()
    assert set(schema["required"]) == set(schema["properties"])  # the JSON form writes every key
    return [(name, actual(p, schema.get("$defs", {}))) for name, p in schema["properties"].items()]


HINTS = typing.get_type_hints(ScoredRecord)


def record_fields(names: tuple[str, ...], state: tuple[str, ...]) -> list[tuple[str, Any]]:
    return ([(name, expected(HINTS[name])) for name in names]
            + [(name, expected(HINTS[name], nullable=False)) for name in state])


def test_a_scored_comment_of_the_service_is_a_scored_record() -> None:
    assert fields_of(ScoredComment) == record_fields(COMMENT_FIELDS, RESULT_FIELDS)


def test_a_failed_comment_of_the_service_is_a_failed_record() -> None:
    assert fields_of(FailedComment) == record_fields(COMMENT_FIELDS, ("error",))


def test_the_score_response_has_the_records_result_fields() -> None:
    assert fields_of(ScoreResponse)[:4] == record_fields((), RESULT_FIELDS)


def test_the_check_itself_sees_a_difference() -> None:
    class Drifted(BaseModel):  # posted_at no longer nullable, status a free string
        thread: dict[str, str]
        posted_at: str
        status: str

    assert fields_of(Drifted) != [(n, expected(HINTS[n])) for n in ("thread", "posted_at", "status")]


def test_records_validate_against_the_service_models_and_back() -> None:
    comment = Comment(id="c1", text="you vile clown", author=None)
    good = ScoredRecord.scored(RecordThread("s", None), "comment", comment, {"hostility": 0.9},
                               ["hostility"], "review", [Span(4, 8, "hostility", 0.8)])
    bad = ScoredRecord.unscored(RecordThread("s", "t"), "comment", comment, 422, "the text is empty")
    assert ScoredComment.model_validate(good.to_json()).model_dump(mode="json") == good.to_json()
    assert FailedComment.model_validate(bad.to_json()).model_dump(mode="json") == bad.to_json()
    with pytest.raises(ValidationError):
        FailedComment.model_validate(good.to_json())  # no error
    with pytest.raises(ValidationError):
        ScoredComment.model_validate(bad.to_json())  # no scores
