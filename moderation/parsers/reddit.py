"""Reddit threads saved from the JSON API: a ``/comments/<id>.json`` response.

The response is a list of two Listings: the first holds the post (kind ``t3``), the second the
top-level comments (kind ``t1``), each with its replies in ``data.replies`` (a Listing, or ``""``
when there are none). Text fields are HTML-escaped once by the API (``body_html`` is
``&lt;div class="md"&gt;...``). Where Reddit cut the tree short it left ``kind: "more"`` stubs
that only the live API can expand; they are counted in a warning, never fetched.

Comment ids are Reddit fullnames (``t1_c57lu5u``) so that ``parent_id`` values match them; a
reply to the post itself (``t3_...``) has no parent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO

from moderation.encoding import decode
from moderation.errors import ParseError
from moderation.parsers import Format, jsontext
from moderation.parsers.clean import (
    html_to_text,
    normalise,
    unescape,
    unescape_once,
)
from moderation.parsers.html import blocks_from_html
from moderation.thread import Article, Block, Comment, Thread, json_kind

REDDIT = "https://www.reddit.com"
_DELETED_BODIES = frozenset({"[deleted]", "[removed]"})
_LISTING = re.compile(rb'"kind"\s*:\s*"Listing"')
_HEADING = re.compile(r"^#{1,6}\s+")


def sniff(head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[") and bool(_LISTING.search(head))


def parse(stream: BinaryIO, source: str) -> Iterator[Thread]:
    decoded = decode(stream.read())
    text, warnings = decoded.text, list(decoded.warnings)
    try:
        # Reply chains nest five JSON levels a reply: read deep ones too.
        data, replaced = jsontext.loads(text, max_depth=jsontext.DEEP)
    except json.JSONDecodeError as exc:
        raise ParseError(source, f"not valid JSON: {exc.msg} at column {exc.colno}",
                         line=exc.lineno) from None
    if replaced:
        warnings.append(jsontext.surrogate_warning(replaced))
    reader = _Reader(source)
    post, top_level = reader.listings(data)
    reader.read_tree(top_level)
    article = reader.article(post)
    warnings += reader.warnings(post.get("num_comments"))
    yield Thread(source=source, format="reddit", article=article,
                 comments=tuple(reader.comments), warnings=tuple(warnings))


FORMAT = Format(
    name="reddit",
    description="a Reddit thread saved from /comments/<id>.json",
    sniff=sniff,
    parse=parse,
)


@dataclass
class _Reader:
    """Walks the response, checking its shape; errors name the JSON path that is wrong."""

    source: str
    comments: list[Comment] = field(default_factory=list)
    more_stubs: int = 0
    hidden: int = 0
    open_ended: int = 0
    post_path: str = "[0].data.children[0]"
    deleted: int = 0
    post_removed: bool = False
    bad_times: int = 0

    def fail(self, path: str, why: str) -> ParseError:
        return ParseError(self.source, f"{path}: {why}; is this a Reddit /comments/<id>.json "
                                       "response saved unchanged?")

    def obj(self, value: Any, path: _Path | str, step: str = "") -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(f"{path}{step}", f"expected a JSON object, got {json_kind(value)}")
        return value

    def children(self, listing: Any, path: _Path | str, step: str = "") -> list[Any]:
        listing = self.obj(listing, path, step)
        if listing.get("kind") != "Listing":
            raise self.fail(f"{path}{step}.kind",
                            f"expected \"Listing\", got {_shown(listing.get('kind'))}")
        children = self.obj(listing.get("data"), path, f"{step}.data").get("children")
        if not isinstance(children, list):
            raise self.fail(f"{path}{step}.data.children",
                            f"expected a list, got {json_kind(children)}")
        return children

    def listings(self, data: Any) -> tuple[dict[str, Any], list[Any]]:
        """The post's data and the top-level comment items."""
        if not isinstance(data, list) or not 1 <= len(data) <= 2:
            raise self.fail("the top level", "expected a list of two Listings (post, comments)")
        posts = self.children(data[0], "[0]")
        index = next((i for i, p in enumerate(posts)
                      if isinstance(p, dict) and p.get("kind") == "t3"), None)
        if index is None:
            raise self.fail("[0].data.children", "no post (kind \"t3\") in the first Listing")
        self.post_path = f"[0].data.children[{index}]"
        top_level = self.children(data[1], "[1]") if len(data) == 2 else []
        return self.obj(posts[index].get("data"), f"{self.post_path}.data"), top_level

    def read_tree(self, top_level: list[Any]) -> None:
        """Every comment, each before its replies, in the export's order. Without recursion:
        a reply chain can be thousands deep."""
        pending: list[tuple[Any, _Path, str | None]] = [
            (child, _Path(None, f"[1].data.children[{index}]"), None)
            for index, child in reversed(list(enumerate(top_level)))]
        while pending:
            child, path, parent_id = pending.pop()
            found = self.read_child(child, path, parent_id)
            if found is not None:
                comment_id, replies = found
                step = ".data.replies.data.children"
                pending += [(reply, _Path(path, f"{step}[{index}]"), comment_id)
                            for index, reply in reversed(list(enumerate(replies)))]

    def read_child(self, child: Any, path: _Path | str,
                   parent_id: str | None) -> tuple[str, list[Any]] | None:
        """Take one item; a comment's id and its replies, or None for a ``more`` stub."""
        child = self.obj(child, path)
        kind = child.get("kind")
        data = self.obj(child.get("data"), path, ".data")
        if kind == "more":
            count = data.get("count")
            self.more_stubs += 1
            if isinstance(count, int) and count > 0:
                self.hidden += count
            else:  # "continue this thread": Reddit gives count 0 for an unknown number
                self.open_ended += 1
            return None
        if kind != "t1":
            raise self.fail(f"{path}.kind",
                            f"expected a comment (\"t1\") or \"more\", got {_shown(kind)}")
        comment = self.comment(data, path, parent_id)
        self.comments.append(comment)
        replies = data.get("replies")
        if replies in ("", None):
            return comment.id, []
        return comment.id, self.children(replies, path, ".data.replies")

    def comment(self, data: dict[str, Any], path: _Path | str,
                nesting_parent: str | None) -> Comment:
        given_id = data.get("id")
        name = data.get("name") or (f"t1_{given_id}" if isinstance(given_id, (str, int))
                                    and given_id else None)
        if not isinstance(name, str):
            raise self.fail(f"{path}.data.name", "the comment has no name or id")
        parent = data.get("parent_id", nesting_parent)
        body = data.get("body")
        removed = _removed(body)
        self.deleted += removed
        return Comment(
            id=name,
            text="" if removed else _comment_text(data),
            author=_author(data),
            posted_at=self.time(data, path),
            parent_id=parent if isinstance(parent, str) and parent.startswith("t1_") else None,
            status="deleted" if removed else "approved",
            url=_permalink(data.get("permalink")),
        )

    def time(self, data: dict[str, Any], path: _Path | str) -> datetime | None:
        created = data.get("created_utc")
        if created is None:
            return None
        if isinstance(created, str) and re.fullmatch(r"\d+(?:\.\d*)?", created):
            created = float(created)  # some archive dumps store the seconds as a string
        if not isinstance(created, (int, float)) or isinstance(created, bool):
            raise self.fail(f"{path}.data.created_utc", f"expected seconds since 1970, "
                                                        f"got {json_kind(created)}")
        try:
            return datetime.fromtimestamp(created, tz=UTC)
        except (OverflowError, OSError, ValueError):  # NaN, infinite, or past the year 9999
            self.bad_times += 1
            return None

    def article(self, post: dict[str, Any]) -> Article:
        self.post_removed = _removed(post.get("selftext"))
        url = _permalink(post.get("permalink")) or post.get("url")
        title = post.get("title")
        return Article(
            title=normalise(unescape(title if isinstance(title, str) else "")) or None,
            url=url if isinstance(url, str) else None,
            author=_author(post),
            published_at=self.time(post, self.post_path),
            blocks=_post_blocks(post),
        )

    def warnings(self, num_comments: Any) -> list[str]:
        warnings = []
        accounted = len(self.comments) + self.hidden
        if isinstance(num_comments, int) and num_comments > accounted and not self.open_ended:
            behind = f", {self.hidden} behind 'more' stubs" if self.hidden else ""
            warnings.append(f"the post counts {num_comments} comment(s); the export holds "
                            f"{len(self.comments)}{behind}")
        if self.more_stubs:
            unknown = (f", and {self.open_ended} 'continue this thread' link(s) of unknown size"
                       if self.open_ended else "")
            warnings.append(f"{self.more_stubs} 'more' stub(s) not expanded ({self.hidden} "
                            f"comment(s) not in the export{unknown})")
        if self.post_removed:
            warnings.append("the post's text was deleted or removed on Reddit")
        if self.bad_times:
            warnings.append(f"{self.bad_times} created_utc time(s) out of range (not a number, "
                            "or not in the years 1 to 9999) left empty")
        if self.deleted:
            warnings.append(f"{self.deleted} comment(s) deleted or removed on Reddit; kept with "
                            "status 'deleted' and no text")
        known = {c.id for c in self.comments}
        orphans = sum(1 for c in self.comments if c.parent_id and c.parent_id not in known)
        if orphans:
            warnings.append(f"{orphans} comment(s) reply to comments not in the export")
        return warnings


class _Path:
    """Where a value is in the response, built up one step a reply and written out only for
    an error message (a chain thousands deep would make every path thousands of steps)."""

    __slots__ = ("parent", "step")

    def __init__(self, parent: _Path | None, step: str) -> None:
        self.parent = parent
        self.step = step

    def __str__(self) -> str:
        steps = []
        node: _Path | None = self
        while node is not None:
            steps.append(node.step)
            node = node.parent
        steps.reverse()
        if len(steps) > 8:
            steps = [*steps[:3], f"[...{len(steps) - 6} levels...]", *steps[-3:]]
        return "".join(steps)


def _shown(value: Any) -> str:
    """A value in an error message: short scalars as they are, anything else by its kind."""
    if (isinstance(value, (str, int, float)) and len(repr(value)) <= 40) or value is None:
        return repr(value)
    return json_kind(value)


def _removed(body: Any) -> bool:
    """Whether a body is Reddit's placeholder for deleted or removed text."""
    return isinstance(body, str) and body in _DELETED_BODIES


def _permalink(value: Any) -> str | None:
    """Reddit's permalinks are paths on the site; some dumps store them whole."""
    if not isinstance(value, str) or not value:
        return None
    return f"{REDDIT}{value}" if value.startswith("/") else value


def _author(data: dict[str, Any]) -> str | None:
    # "[deleted]" is Reddit's placeholder for an account that no longer exists, not a name.
    author = data.get("author")
    return author if isinstance(author, str) and author and author != "[deleted]" else None


def _comment_text(data: dict[str, Any]) -> str:
    body_html = data.get("body_html")
    if isinstance(body_html, str) and body_html:
        return html_to_text(unescape_once(body_html))
    body = data.get("body")
    return normalise(unescape(body)) if isinstance(body, str) else ""


def _post_blocks(post: dict[str, Any]) -> tuple[Block, ...]:
    if _removed(post.get("selftext")):
        return ()
    selftext_html = post.get("selftext_html")
    if isinstance(selftext_html, str) and selftext_html:
        return blocks_from_html(unescape_once(selftext_html))
    selftext = post.get("selftext")
    if not isinstance(selftext, str):
        return ()
    # Markdown source: paragraphs are separated by blank lines, "# " starts a heading.
    blocks = []
    for paragraph in normalise(unescape(selftext)).split("\n\n"):
        heading = _HEADING.match(paragraph)
        text = paragraph[heading.end():] if heading else paragraph
        blocks.append(Block(kind="heading" if heading else "paragraph", text=text))
    return tuple(b for b in blocks if b.text)
