"""The one data model every parser produces: a thread of reader comments under an article.

Plain frozen dataclasses with a single JSON form (``to_dict`` / ``from_dict``). The JSON form is
also an input format, so ``parse -> JSON -> parse`` round-trips exactly.

JSON form of a thread (one object per line in JSONL)::

    {"source": "path or URL", "format": "wxr",
     "article": {"title": str|null, "url": str|null, "author": str|null,
                 "published_at": ISO-8601|null,
                 "blocks": [{"kind": "heading"|"paragraph", "text": str}, ...],
                 "author_bio": str|null} | null,
     "comments": [{"id": str, "author": str|null, "posted_at": ISO-8601|null, "text": str,
                   "parent_id": str|null, "status": "approved"|"pending"|"spam"|"trash"|"deleted",
                   "url": str|null, "author_url": str|null}, ...],
     "pingbacks": [{"title": str|null, "site": str|null, "url": str|null,
                    "posted_at": ISO-8601|null, "excerpt": str|null}, ...],
     "warnings": [str, ...]}

Times are ISO 8601. A time with an offset is zone-aware; a time written without an offset
(``2024-10-31T18:33:00``) is a naive local time whose zone the source did not say, and the
thread carries a warning saying how many such times it holds. Comment text keeps paragraph
breaks as blank lines (``"\\n\\n"``). A comment's ``url`` is its own permalink, where the source
gives one (a saved page's link to ``#comment-N``, a Reddit permalink); ``author_url`` is the
website the commenter gave (WordPress).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Literal, TypeGuard, get_args

Status = Literal["approved", "pending", "spam", "trash", "deleted"]
STATUSES: tuple[Status, ...] = get_args(Status)
BlockKind = Literal["heading", "paragraph"]


def is_status(value: object) -> TypeGuard[Status]:
    """Whether ``value`` is one of the :data:`STATUSES`."""
    return value in STATUSES


def _time_to_json(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _time_from_json(value: Any, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError(f"{where}: expected an ISO 8601 string, got {type(value).__name__}")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not an ISO 8601 time") from None


def _object(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a JSON object, got {json_kind(data)}")
    return data


def json_kind(value: Any) -> str:
    """How an error message names the kind of a decoded JSON value."""
    return {dict: "an object", list: "a list", str: "a string", type(None): "null",
            bool: "true/false"}.get(type(value), "a number")


def _opt_str(data: dict[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"{where}.{key}: expected a string, got {json_kind(value)}")
    return value


@dataclass(frozen=True)
class Block:
    """One block of the article body, in reading order."""

    kind: BlockKind
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text}

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "block") -> Block:
        kind = _object(data, where).get("kind")
        if kind not in ("heading", "paragraph"):
            raise ValueError(f"{where}.kind: must be 'heading' or 'paragraph', got {kind!r}")
        return cls(kind=kind, text=_opt_str(data, "text", where) or "")


@dataclass(frozen=True)
class Article:
    title: str | None = None
    url: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    blocks: tuple[Block, ...] = ()
    author_bio: str | None = None

    @property
    def headings(self) -> list[str]:
        return [b.text for b in self.blocks if b.kind == "heading"]

    @property
    def paragraphs(self) -> list[str]:
        return [b.text for b in self.blocks if b.kind == "paragraph"]

    @property
    def text(self) -> str:
        """The body as plain text, blocks separated by blank lines."""
        return "\n\n".join(b.text for b in self.blocks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "url": self.url,
            "author": self.author,
            "published_at": _time_to_json(self.published_at),
            "blocks": [b.to_dict() for b in self.blocks],
            "author_bio": self.author_bio,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "article") -> Article:
        blocks = _object(data, where).get("blocks") or []
        if not isinstance(blocks, list):
            raise ValueError(f"{where}.blocks: expected a list")
        return cls(
            title=_opt_str(data, "title", where),
            url=_opt_str(data, "url", where),
            author=_opt_str(data, "author", where),
            published_at=_time_from_json(data.get("published_at"), f"{where}.published_at"),
            blocks=tuple(Block.from_dict(b, f"{where}.blocks[{i}]") for i, b in enumerate(blocks)),
            author_bio=_opt_str(data, "author_bio", where),
        )


@dataclass(frozen=True)
class Comment:
    id: str
    text: str
    author: str | None = None
    posted_at: datetime | None = None
    parent_id: str | None = None
    status: Status = "approved"
    url: str | None = None
    author_url: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"comment {self.id}: status must be one of {', '.join(STATUSES)}")

    @property
    def paragraphs(self) -> list[str]:
        return [p for p in self.text.split("\n\n") if p]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "author": self.author,
            "posted_at": _time_to_json(self.posted_at),
            "text": self.text,
            "parent_id": self.parent_id,
            "status": self.status,
            "url": self.url,
            "author_url": self.author_url,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "comment") -> Comment:
        cid = _opt_str(_object(data, where), "id", where)
        if cid is None:
            raise ValueError(f"{where}.id: missing")
        status = data.get("status") or "approved"
        if not is_status(status):
            raise ValueError(f"{where}.status: must be one of {', '.join(STATUSES)}, got {status!r}")
        return cls(
            id=cid,
            text=_opt_str(data, "text", where) or "",
            author=_opt_str(data, "author", where),
            posted_at=_time_from_json(data.get("posted_at"), f"{where}.posted_at"),
            parent_id=_opt_str(data, "parent_id", where),
            status=status,
            url=_opt_str(data, "url", where),
            author_url=_opt_str(data, "author_url", where),
        )


@dataclass(frozen=True)
class Pingback:
    title: str | None = None
    site: str | None = None
    url: str | None = None
    posted_at: datetime | None = None
    excerpt: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "site": self.site,
            "url": self.url,
            "posted_at": _time_to_json(self.posted_at),
            "excerpt": self.excerpt,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "pingback") -> Pingback:
        _object(data, where)
        return cls(
            title=_opt_str(data, "title", where),
            site=_opt_str(data, "site", where),
            url=_opt_str(data, "url", where),
            posted_at=_time_from_json(data.get("posted_at"), f"{where}.posted_at"),
            excerpt=_opt_str(data, "excerpt", where),
        )


@dataclass(frozen=True)
class Thread:
    source: str
    format: str
    article: Article | None = None
    comments: tuple[Comment, ...] = ()
    pingbacks: tuple[Pingback, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "format": self.format,
            "article": None if self.article is None else self.article.to_dict(),
            "comments": [c.to_dict() for c in self.comments],
            "pingbacks": [p.to_dict() for p in self.pingbacks],
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "thread") -> Thread:
        unknown = set(_object(data, where)) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        for key in ("comments", "pingbacks", "warnings"):
            if not isinstance(data.get(key) or [], list):
                raise ValueError(f"{where}.{key}: expected a list")
        article = data.get("article")
        return cls(
            source=_opt_str(data, "source", where) or "",
            format=_opt_str(data, "format", where) or "json",
            article=None if article is None else Article.from_dict(article, f"{where}.article"),
            comments=tuple(
                Comment.from_dict(c, f"{where}.comments[{i}]")
                for i, c in enumerate(data.get("comments") or [])
            ),
            pingbacks=tuple(
                Pingback.from_dict(p, f"{where}.pingbacks[{i}]")
                for i, p in enumerate(data.get("pingbacks") or [])
            ),
            warnings=tuple(_warning(w, f"{where}.warnings[{i}]")
                           for i, w in enumerate(data.get("warnings") or [])),
        )


def _warning(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where}: expected a string, got {json_kind(value)}")
    return value


def naive_time_warning(*times: datetime | None) -> str | None:
    """The warning a thread carries when some of its times have no known zone."""
    naive = sum(1 for t in times if t is not None and t.tzinfo is None)
    if not naive:
        return None
    return f"{naive} time(s) have no time zone in the source; kept as naive local times"
