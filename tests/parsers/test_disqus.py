"""Disqus XML exports: the real sample beside the repository and our invented seed."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from moderation.errors import ParseError
from moderation.parsers import detect_format, disqus
from moderation.thread import Thread

DSQ_ID = "{http://disqus.com/disqus-internals}id"


def parse(data: bytes, source: str = "disqus.xml") -> list[Thread]:
    return list(disqus.parse(io.BytesIO(data), source))


def local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


# --- the real sample -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def isso_disqus(shared_dir: Path) -> Path:
    return shared_dir / "samples" / "disqus" / "isso__disqus.xml"


def test_isso_sample_threads_posts_orphan_and_deleted_parent(isso_disqus: Path) -> None:
    threads = parse(isso_disqus.read_bytes(), str(isso_disqus))
    root = etree.parse(str(isso_disqus)).getroot()
    file_threads = [el for el in root if local(el) == "thread"]
    file_posts = [el for el in root if local(el) == "post"]
    assert (len(file_threads), len(file_posts)) == (3, 6)  # what the README says

    # One thread per Disqus thread, in file order, plus one for the orphan's missing thread.
    assert len(threads) == len(file_threads) + 1
    assert [t.article is not None for t in threads] == [True, True, True, False]
    comments = [c for t in threads for c in t.comments]
    assert sorted(c.id for c in comments) == sorted(p.get(DSQ_ID, "") for p in file_posts)

    # Each post sits in the thread its <thread dsq:id> names.
    ids = [t.get(DSQ_ID) for t in file_threads]
    for post in file_posts:
        named = next(el for el in post if local(el) == "thread").get(DSQ_ID)
        holder = threads[ids.index(named)] if named in ids else threads[-1]
        assert post.get(DSQ_ID) in {c.id for c in holder.comments}

    orphan = threads[-1]
    assert len(orphan.comments) == 1
    assert orphan.warnings[0].endswith("which is not in the export; kept here without an article")

    # A reply to a deleted post is kept, with a warning; the deleted post is kept too.
    deleted = [c for c in comments if c.status == "deleted"]
    assert len(deleted) == 1 and deleted[0].text == ""
    replies = [c for c in comments if c.parent_id == deleted[0].id]
    assert len(replies) == 1
    holder = next(t for t in threads if replies[0] in t.comments)
    assert "1 comment(s) reply to a deleted comment; kept" in holder.warnings


def test_isso_sample_thread_with_empty_id_and_title(isso_disqus: Path) -> None:
    threads = parse(isso_disqus.read_bytes())
    root = etree.parse(str(isso_disqus)).getroot()
    file_threads = [el for el in root if local(el) == "thread"]
    for file_thread, thread in zip(file_threads, threads[: len(file_threads)], strict=True):
        fields = {local(el): (el.text or "").strip() for el in file_thread}
        assert thread.article is not None
        assert thread.article.title == (fields.get("title") or None)
        assert thread.article.url == (fields.get("link") or None)
    untitled = [t for t in threads if t.article and t.article.title is None]
    assert untitled and all(t.warnings == () for t in untitled)


def test_isso_sample_times_messages_and_round_trip(isso_disqus: Path) -> None:
    threads = parse(isso_disqus.read_bytes())
    comments = [c for t in threads for c in t.comments]
    assert all(c.posted_at is not None and c.posted_at.tzinfo == UTC for c in comments)
    assert not any("<" in c.text for c in comments)  # CDATA HTML became text
    for thread in threads:
        assert Thread.from_dict(json.loads(json.dumps(thread.to_dict()))) == thread


# --- our seed --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed(seeds_dir: Path) -> bytes:
    return (seeds_dir / "disqus-export.xml").read_bytes()


@pytest.fixture(scope="module")
def seed_threads(seed: bytes) -> list[Thread]:
    return parse(seed)


def test_seed_threads_in_file_order_then_orphans(seed_threads) -> None:
    assert [t.article.title if t.article else "(orphans)" for t in seed_threads] == [
        "Library to open on Sundays from May",
        "Opinion: the bridge toll is the wrong answer & here\u2019s why",  # encoded twice
        None,  # a thread with an empty <title/>
        "(orphans)",
    ]
    first = seed_threads[0].article
    assert first.url == "https://valleygazette.example/news/library-hours/"
    assert first.published_at == datetime(2023, 4, 18, 7, 55, 10, tzinfo=UTC)
    assert all(t.format == "disqus" for t in seed_threads)


def test_seed_comments_statuses_authors_and_messages(seed_threads) -> None:
    library = {c.id: c for c in seed_threads[0].comments}
    assert {cid: c.status for cid, c in library.items()} == {
        "880001": "approved", "880002": "approved", "880003": "deleted",
        "880004": "approved", "880005": "spam",
    }
    # CDATA HTML, and HTML escaped as entities, both become clean text.
    assert library["880001"].text == ("Finally! Half the town works Saturdays.\n\n"
                                      "Sunday afternoons are the only time I can go.")
    assert library["880002"].text == "Who pays the extra staff, though? Not the council, I bet."
    assert seed_threads[1].comments[0].text == (
        "Tolls hit the people who commute the furthest. That's us in the hill villages.\n\n"
        "There must be a fairer way."
    )
    assert library["880002"].author == "quietreader42"  # no <name>: the username
    assert library["880001"].author == "Halima Okafor"
    assert library["880002"].parent_id == "880001"
    assert library["880002"].posted_at == datetime(2023, 4, 18, 9, 1, 2, tzinfo=UTC)


def test_seed_replies_to_deleted_and_missing_posts_are_kept_with_warnings(seed_threads) -> None:
    library, tolls = seed_threads[0], seed_threads[1]
    assert next(c for c in library.comments if c.id == "880004").parent_id == "880003"
    assert library.warnings == ("1 comment(s) reply to a deleted comment; kept",)
    assert tolls.comments[1].parent_id == "879999"
    assert tolls.warnings == ("1 comment(s) reply to a comment that is not in this thread; "
                              "kept, with their parent ids",)


def test_seed_orphan_post_is_kept_in_its_own_thread(seed_threads) -> None:
    orphans = seed_threads[-1]
    assert orphans.article is None
    assert [c.id for c in orphans.comments] == ["880008"]
    assert orphans.warnings == ("1 comment(s) belong to thread 7099999, which is not in the "
                                "export; kept here without an article",)


def test_seed_thread_declared_after_its_posts_gets_them(seed_threads) -> None:
    untitled = seed_threads[2]
    assert untitled.article.url == "https://valleygazette.example/?p=512"
    assert [c.id for c in untitled.comments] == ["880009"]


def test_without_the_default_namespace_reads_the_same(seed: bytes, seed_threads) -> None:
    bare = seed.replace(b'xmlns="http://disqus.com"', b"")
    assert bare != seed
    assert disqus.sniff(bare)
    assert parse(bare) == seed_threads


def test_seed_round_trips_through_json(seed_threads) -> None:
    for thread in seed_threads:
        assert Thread.from_dict(json.loads(json.dumps(thread.to_dict()))) == thread


# --- damaged exports -------------------------------------------------------------------------


def test_bom_and_junk_before_the_xml(seed: bytes, seed_threads) -> None:
    assert parse(b"\xef\xbb\xbf" + seed) == seed_threads
    threads = parse(b"\x00?" + seed)
    assert threads[0].warnings[0] == "2 byte(s) of junk before the XML skipped"
    assert [t.comments for t in threads] == [t.comments for t in seed_threads]


def test_cut_off_post_is_left_out_and_earlier_ones_kept(seed: bytes) -> None:
    cut = seed[: seed.index(b"Posting here because")]  # inside the last post
    threads = parse(cut)
    ids = [c.id for t in threads for c in t.comments]
    assert ids == ["880001", "880002", "880003", "880004", "880005", "880006", "880007",
                   "880008"]
    assert threads[2].comments == ()  # the untitled thread lost its only (cut) post
    assert "the incomplete last <post> was left out" in threads[0].warnings[0]


def test_invalid_utf8_in_a_message(seed: bytes) -> None:
    damaged = seed.replace(b"Finally!", b"Finally\xc3!")
    threads = parse(damaged)
    assert threads[0].comments[0].text.startswith("Finally\ufffd!")
    assert threads[0].warnings[0] == (f"invalid UTF-8 at byte {damaged.index(b'Finally') + 7}: "
                                      "1 byte(s) replaced with U+FFFD")


def test_posts_without_ids_or_readable_times_are_kept_and_reported() -> None:
    data = (b"<disqus><post><message>Hi</message><createdAt>yesterday</createdAt>"
            b"<thread/></post><post><message>Yo</message></post></disqus>")
    [orphans] = parse(data)
    assert [(c.id, c.text, c.posted_at) for c in orphans.comments] == [
        ("#1", "Hi", None), ("#2", "Yo", None)
    ]
    assert orphans.warnings == (
        "2 post(s) without a dsq:id numbered ('#N')",
        "1 createdAt time(s) not in ISO 8601 form left out",
        "2 comment(s) name no thread; kept here without an article",
    )


def test_naive_times_are_reported() -> None:
    data = (b'<disqus xmlns:dsq="http://disqus.com/disqus-internals"><thread dsq:id="1">'
            b"<createdAt>2020-01-01T10:00:00</createdAt></thread>"
            b'<post dsq:id="2"><message>Hi</message><createdAt>2020-01-01T11:00:00</createdAt>'
            b'<thread dsq:id="1"/></post></disqus>')
    [thread] = parse(data)
    assert thread.comments[0].posted_at == datetime(2020, 1, 1, 11, 0)
    assert thread.warnings == ("2 time(s) have no time zone in the source; kept as naive "
                               "local times",)


def test_an_empty_export_has_no_threads_and_a_wxr_is_refused(seeds_dir: Path) -> None:
    assert parse(b'<disqus xmlns="http://disqus.com"></disqus>') == []
    with pytest.raises(ParseError, match="the document element is <rss>, not <disqus>"):
        parse((seeds_dir / "wordpress-export.xml").read_bytes())


# --- sniffing --------------------------------------------------------------------------------


def test_sniff(seed: bytes, seeds_dir: Path) -> None:
    assert disqus.sniff(seed)
    assert disqus.sniff(b"\xef\xbb\xbfjunk" + seed)
    assert not disqus.sniff((seeds_dir / "wordpress-export.xml").read_bytes())
    assert not disqus.sniff(b"<html><body>Comments powered by <b>disqus</b></body></html>")
    assert detect_format(seed, "x").name == "disqus"
