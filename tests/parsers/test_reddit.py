"""The Reddit /comments/<id>.json parser."""

from __future__ import annotations

import copy
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from moderation.errors import ParseError
from moderation.parsers.reddit import FORMAT
from moderation.thread import Thread

SAMPLE = "samples/reddit/creaddit__reddit-thread-vtvuk.json"


def parse(data: bytes, source: str = "thread.json") -> Thread:
    [thread] = FORMAT.parse(io.BytesIO(data), source)
    return thread


def dump(value: Any) -> bytes:
    return json.dumps(value).encode()


@pytest.fixture(scope="module")
def own_json(seeds_dir: Path) -> list[Any]:
    return json.loads((seeds_dir / "reddit-thread.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def own(seeds_dir: Path) -> Thread:
    path = seeds_dir / "reddit-thread.json"
    return parse(path.read_bytes(), str(path))


# --- the real response in ../shared ----------------------------------------------------------


def test_sample_comments_nest(shared_dir: Path) -> None:
    raw = (shared_dir / SAMPLE).read_bytes()
    thread = parse(raw)
    assert len(thread.comments) == 4
    ids = {c.id for c in thread.comments}
    assert all(i.startswith("t1_") for i in ids)
    top, *replies = thread.comments
    assert top.parent_id is None
    # Two replies to the top comment, and one reply to the first of those.
    assert [c.parent_id for c in replies] == [top.id, replies[0].id, top.id]
    assert all(c.posted_at is not None and c.posted_at.tzinfo is UTC for c in thread.comments)
    assert all(c.author and c.status == "approved" for c in thread.comments)


def test_sample_text_is_unescaped(shared_dir: Path) -> None:
    raw = (shared_dir / SAMPLE).read_bytes()
    assert b"&lt;div class=" in raw  # the sample's body_html is escaped markup
    thread = parse(raw)
    for comment in thread.comments:
        assert comment.text and not re.search(r"&\w+;|<", comment.text)
        assert comment.text == comment.text.strip()


def test_sample_post(shared_dir: Path) -> None:
    data = json.loads((shared_dir / SAMPLE).read_text(encoding="utf-8"))
    post = data[0]["data"]["children"][0]["data"]
    thread = parse(dump(data))
    article = thread.article
    assert article is not None
    assert article.title == post["title"]
    assert article.url == "https://www.reddit.com" + post["permalink"]
    assert article.author == post["author"]
    assert article.published_at == datetime.fromtimestamp(post["created_utc"], UTC)
    assert article.blocks == ()  # a link post has no text
    # The post counts far more comments than the saved response holds: said, not hidden.
    assert thread.warnings == (
        f"the post counts {post['num_comments']} comment(s); the export holds 4",)


# --- our own fixture ----------------------------------------------------------------------------


def test_own_tree_and_entities(own: Thread) -> None:
    got = [(c.id, c.parent_id, c.author, c.status) for c in own.comments]
    assert got == [
        ("t1_k1a01", None, "shore_sable", "approved"),
        ("t1_k1a02", "t1_k1a01", "kelp_kestrel", "approved"),
        ("t1_k1a03", "t1_k1a02", "limpet_lou", "approved"),
        ("t1_k1a04", None, None, "deleted"),
        ("t1_k1a05", None, None, "deleted"),
        ("t1_k1a06", None, None, "approved"),
    ]
    texts = [c.text for c in own.comments]
    assert texts[0] == "Great find!\n\nThe purple one is the sea hare."
    assert texts[1] == "Looks like Aplysia to me. Tom & Jerry sized."
    assert texts[2] == "Agreed <3"
    # Deleted and removed comments keep their place in the tree, not Reddit's placeholder.
    assert texts[3] == texts[4] == ""
    # An account deleted after posting leaves the comment readable.
    assert texts[5] == "Tide tables for the cove are pinned in the sidebar."
    assert own.comments[0].posted_at == datetime(2023, 7, 22, 4, 43, 20, tzinfo=UTC)
    # A comment's permalink (a path on the site) becomes its url; one without has none.
    assert own.comments[0].url == ("https://www.reddit.com/r/tidepools/comments/q7h2k/"
                                   "found_a_sea_hare_two_nudibranchs_at_low_tide/k1a01/")
    assert own.comments[1].url is None


def test_own_more_stubs_and_deletions_are_warned(own: Thread) -> None:
    assert own.warnings == (
        "3 'more' stub(s) not expanded (17 comment(s) not in the export, and 1 'continue this "
        "thread' link(s) of unknown size)",
        "2 comment(s) deleted or removed on Reddit; kept with status 'deleted' and no text",
    )


def test_own_post(own: Thread) -> None:
    article = own.article
    assert article is not None
    assert article.title == "Found a sea hare & two nudibranchs at low tide \u2013 ID help?"
    assert article.url == ("https://www.reddit.com/r/tidepools/comments/q7h2k/"
                           "found_a_sea_hare_two_nudibranchs_at_low_tide/")
    assert [(b.kind, b.text) for b in article.blocks] == [
        ("heading", "Where"),
        ("paragraph", "North end of the cove, about an hour after low water."),
        ("paragraph", "Photos in the comments & more tomorrow."),
    ]


def test_selftext_markdown_without_html(own_json: list[Any]) -> None:
    data = copy.deepcopy(own_json)
    del data[0]["data"]["children"][0]["data"]["selftext_html"]
    article = parse(dump(data)).article
    assert article is not None
    assert [(b.kind, b.text) for b in article.blocks] == [
        ("heading", "Where"),
        ("paragraph", "North end of the cove, about an hour after low water."),
        ("paragraph", "Photos in the comments & more tomorrow."),
    ]


def test_body_used_when_body_html_missing(own_json: list[Any]) -> None:
    data = copy.deepcopy(own_json)
    comment = data[1]["data"]["children"][0]["data"]["replies"]["data"]["children"][0]["data"]
    del comment["body_html"]
    assert parse(dump(data)).comments[1].text == "Looks like *Aplysia* to me. Tom & Jerry sized."


def test_removed_post_and_archive_string_times(own_json: list[Any]) -> None:
    data = copy.deepcopy(own_json)
    post = data[0]["data"]["children"][0]["data"]
    post.update(selftext="[removed]", selftext_html=None, created_utc="1690000000")
    thread = parse(dump(data))
    assert thread.article is not None and thread.article.blocks == ()
    assert thread.article.published_at == datetime(2023, 7, 22, 4, 26, 40, tzinfo=UTC)
    assert "the post's text was deleted or removed on Reddit" in thread.warnings


def test_post_only_response(own_json: list[Any]) -> None:
    thread = parse(dump(own_json[:1]))
    assert thread.comments == () and thread.article is not None


# --- bad structure names the JSON path -------------------------------------------------------


def bad_message(data: bytes) -> str:
    with pytest.raises(ParseError) as caught:
        parse(data, "saved.json")
    assert caught.value.path == "saved.json"
    return caught.value.why


def test_bad_child_names_its_path(own_json: list[Any]) -> None:
    data = copy.deepcopy(own_json)
    data[1]["data"]["children"][3] = "oops"
    assert bad_message(dump(data)).startswith("[1].data.children[3]: expected a JSON object")


def test_bad_nested_reply_names_its_path(own_json: list[Any]) -> None:
    data = copy.deepcopy(own_json)
    first = data[1]["data"]["children"][0]["data"]
    first["replies"]["data"]["children"][0]["data"]["replies"] = {"kind": "Thing", "data": {}}
    why = bad_message(dump(data))
    assert why.startswith('[1].data.children[0].data.replies.data.children[0].data.replies.kind: '
                          'expected "Listing"')


def test_unknown_kind_and_bad_time(own_json: list[Any]) -> None:
    data = copy.deepcopy(own_json)
    data[1]["data"]["children"][1]["kind"] = "t5"
    assert bad_message(dump(data)).startswith("[1].data.children[1].kind: expected a comment")
    data = copy.deepcopy(own_json)
    data[1]["data"]["children"][1]["data"]["created_utc"] = "yesterday"
    assert bad_message(dump(data)).startswith("[1].data.children[1].data.created_utc")


def test_not_a_listing_response() -> None:
    assert bad_message(b'{"kind": "Listing"}').startswith("the top level: expected a list")
    assert bad_message(b'[{"kind": "Listing", "data": {"children": []}}]').startswith(
        "[0].data.children: no post")


def test_invalid_json_names_the_line() -> None:
    with pytest.raises(ParseError) as caught:
        parse(b'[\n{"kind": "Listing",\n "data": }\n]', "saved.json")
    assert caught.value.line == 3
    assert str(caught.value).startswith("saved.json:3: not valid JSON")


def test_sniff(seeds_dir: Path) -> None:
    assert FORMAT.sniff((seeds_dir / "reddit-thread.json").read_bytes())
    assert FORMAT.sniff(b'[{"kind":"Listing","data":{}}]')
    assert FORMAT.sniff(b'\xef\xbb\xbf [ {"kind" : "Listing"')
    assert not FORMAT.sniff(b'{"kind": "Listing"}')
    assert not FORMAT.sniff((seeds_dir / "threads.jsonl").read_bytes())
    assert not FORMAT.sniff(b"<html><body>[\"kind\": \"Listing\"]</body></html>")
