"""Disqus XML exports: one thread per Disqus thread, comments joined to it by id.

A Disqus export is a ``<disqus>`` document holding three flat lists: ``<category>``,
``<thread dsq:id="…">`` (a page: link, title, createdAt) and ``<post dsq:id="…">`` (a comment:
message, createdAt, isDeleted, isSpam, author, ``<thread dsq:id>`` and ``<parent dsq:id>``).
``dsq`` is ``http://disqus.com/disqus-internals``; the default namespace ``http://disqus.com``
is present in some exports and absent in others, so elements are matched by local name.

Posts may come before or after their thread, so threads are only yielded once the whole file
has been read; the XML itself is still read as a stream and freed element by element, and
memory holds the comments, not the document.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO

from lxml import etree

from moderation.errors import ParseError
from moderation.parsers import Format
from moderation.parsers.clean import html_to_text
from moderation.parsers.xmlsafe import (
    element_text,
    iter_elements,
    local_name,
    root_name,
    tag_name,
)
from moderation.thread import Article, Comment, Status, Thread, naive_time_warning


def sniff(head: bytes) -> bool:
    return root_name(head) == "disqus"


def parse(stream: BinaryIO, source: str) -> Iterator[Thread]:
    file_warnings: list[str] = []  # filled by the reader as it finds problems
    bad_times: list[int] = [0]
    articles: dict[str, Article] = {}
    posts: dict[str | None, list[Comment]] = {}  # by thread id, in file order
    unnamed_posts = 0
    for el in iter_elements(stream, source, ("thread", "post"), file_warnings, root="disqus"):
        if local_name(tag_name(el)) == "thread":
            articles.setdefault(_dsq_id(el) or f"#{len(articles) + 1}", _article(el, bad_times))
        else:
            thread_id, comment = _post(el, unnamed_posts + 1, bad_times)
            unnamed_posts += comment.id.startswith("#")
            posts.setdefault(thread_id, []).append(comment)
    if not articles and not posts:
        if file_warnings:
            raise ParseError(source, "no thread or post could be read: " + "; ".join(file_warnings))
        return
    if unnamed_posts:
        file_warnings.append(f"{unnamed_posts} post(s) without a dsq:id numbered ('#N')")
    if bad_times[0]:
        file_warnings.append(f"{bad_times[0]} createdAt time(s) not in ISO 8601 form left out")
    threads = [_thread(source, article, posts.pop(tid, []))
               for tid, article in articles.items()]
    threads += [_orphans(source, tid, comments) for tid, comments in posts.items()]
    first = threads[0]
    threads[0] = dataclasses.replace(first, warnings=(*file_warnings, *first.warnings))
    yield from threads


FORMAT = Format(
    name="disqus",
    description="a Disqus XML export: threads and their comments",
    sniff=sniff,
    parse=parse,
)


def _child(el: etree._Element, name: str) -> etree._Element | None:
    """The first child with this local name, whatever namespace the export uses."""
    for child in el:
        if isinstance(child.tag, str) and local_name(child.tag) == name:
            return child
    return None


def _text(el: etree._Element | None, *path: str) -> str:
    for name in path:
        if el is None:
            return ""
        el = _child(el, name)
    return "" if el is None else element_text(el).strip()


def _dsq_id(el: etree._Element | None) -> str | None:
    """The ``dsq:id`` attribute (matched by local name: only Disqus puts an id attribute here)."""
    if el is None:
        return None
    for name, value in el.attrib.items():
        if local_name(str(name)) == "id" and str(value).strip():
            return str(value).strip()
    return None


def _time(value: str, bad_times: list[int]) -> datetime | None:
    """An ISO 8601 time; Disqus writes UTC with a ``Z``."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        bad_times[0] += 1
        return None


def _flag(el: etree._Element, name: str) -> bool:
    return _text(el, name).lower() == "true"


def _article(el: etree._Element, bad_times: list[int]) -> Article:
    return Article(
        title=html_to_text(_text(el, "title")).replace("\n", " ") or None,
        url=_text(el, "link") or None,
        published_at=_time(_text(el, "createdAt"), bad_times),
    )


def _post(el: etree._Element, position: int,
          bad_times: list[int]) -> tuple[str | None, Comment]:
    """The post's thread id and the post as a comment."""
    status: Status = "approved"
    if _flag(el, "isDeleted"):
        status = "deleted"
    elif _flag(el, "isSpam"):
        status = "spam"
    author = _child(el, "author")
    return _dsq_id(_child(el, "thread")), Comment(
        id=_dsq_id(el) or f"#{position}",
        text=html_to_text(_text(el, "message")),
        author=_text(author, "name") or _text(author, "username") or None,
        posted_at=_time(_text(el, "createdAt"), bad_times),
        parent_id=_dsq_id(_child(el, "parent")),
        status=status,
    )


def _thread(source: str, article: Article | None, comments: list[Comment]) -> Thread:
    warnings = _reply_warnings(comments)
    naive = naive_time_warning(
        article.published_at if article else None, *(c.posted_at for c in comments)
    )
    if naive:
        warnings.append(naive)
    return Thread(source=source, format="disqus", article=article, comments=tuple(comments),
                  warnings=tuple(warnings))


def _orphans(source: str, thread_id: str | None, comments: list[Comment]) -> Thread:
    """Posts whose thread is not in the export, kept in a thread of their own."""
    thread = _thread(source, None, comments)
    if thread_id:
        why = f"belong to thread {thread_id}, which is not in the export"
    else:
        why = "name no thread"
    note = f"{len(comments)} comment(s) {why}; kept here without an article"
    return dataclasses.replace(thread, warnings=(note, *thread.warnings))


def _reply_warnings(comments: list[Comment]) -> list[str]:
    status = {c.id: c.status for c in comments}
    counts = Counter(
        "missing" if status.get(c.parent_id) is None else "deleted"
        for c in comments
        if c.parent_id and status.get(c.parent_id) in (None, "deleted")
    )
    warnings = []
    if counts["missing"]:
        warnings.append(f"{counts['missing']} comment(s) reply to a comment that is not in this "
                        "thread; kept, with their parent ids")
    if counts["deleted"]:
        warnings.append(f"{counts['deleted']} comment(s) reply to a deleted comment; kept")
    return warnings
