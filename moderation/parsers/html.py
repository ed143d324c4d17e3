"""WordPress pages saved as HTML: the article, its reader comments and its pingbacks.

Both comment markups WordPress themes print are read:

* current (``html5`` support, WordPress 3.6+): ``ol.comment-list > li.comment`` holding
  ``article#div-comment-N`` with ``.comment-author .fn``, ``.comment-metadata time[datetime]``
  and ``.comment-content``;
* legacy (older themes, Kubrick): ``ol.commentlist > li#comment-N`` with ``cite.fn``, a
  ``.commentmetadata`` date printed as text ("March 3, 2009 at 10:12 am") and bare ``<p>``.

Replies sit in a nested ``ol.children`` (or ``ul.children``), so a comment's parent is the comment
whose ``li`` encloses it. Pingbacks and trackbacks are ``li.pingback`` / ``li.trackback``:
"Pingback: <a href=URL>Post title – Site</a>". The page is never fetched from anywhere:
lxml.html only reads the bytes given, and comments a site loads with JavaScript are not in them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import BinaryIO
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html
from lxml.html import HtmlElement

from moderation.encoding import decode
from moderation.errors import ParseError
from moderation.parsers import Format
from moderation.parsers.clean import (
    html_to_text,
    normalise,
    parse_date,
    split_site,
    unescape,
)
from moderation.thread import Article, Block, Comment, Pingback, Thread, naive_time_warning

_PING_CLASSES = frozenset({"pingback", "trackback"})
_ITEM_ID = re.compile(r"^(?:li-|div-)?comment-(.+)$")
# WordPress's notice on a pending comment, shown to its author (themes without the class).
# The whole notice, so that a comment which merely mentions moderation is not taken for it.
_AWAITING = re.compile(r"your comment is awaiting moderation\.?(?:\s+this is a preview\b.*)?",
                       re.IGNORECASE)
_PING_LABEL = re.compile(r"^\s*(?:pingback|trackback)\s*:?\s*", re.IGNORECASE)
# Parts of a comment body that are not what the commenter wrote.
_NOT_CONTENT = frozenset({
    "reply", "comment-reply", "comment-meta", "comment-metadata", "commentmetadata",
    "comment-author", "children", "comment-awaiting-moderation", "vcard", "comment-edit-link",
})
_CONTENT_TAGS = frozenset({"p", "blockquote", "pre", "ul", "ol", "dl", "table"})
_HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_LEAF_BLOCK_TAGS = frozenset({"p", "li", "blockquote", "pre", "dd", "dt", "td", "th", "div",
                              "section"})
_BLOCK_LEVEL = _HEADING_TAGS | _LEAF_BLOCK_TAGS | frozenset(
    {"ul", "ol", "dl", "table", "tbody", "thead", "tr", "article", "aside", "header", "footer",
     "nav", "figure", "form", "main"})
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "form", "iframe", "button",
                        "svg", "figure", "aside", "nav", "audio", "video", "object", "embed"})
# Blocks inside an article body that are site furniture, not the article: share buttons,
# related posts, author boxes, newsletter sign-ups, ads, tag lists.
_FURNITURE = re.compile(
    r"shar(?:e|ing)|social|related|sharedaddy|addtoany|a2a_|heateor|yarpp|rp4wp|abh_|"
    r"author-?(?:box|bio|info)|newsletter|subscribe|\bads?\b|advert|promo|screen-reader-text|"
    r"tags-links|post-tags|comments-area",
    re.IGNORECASE,
)
_LI_TAG = re.compile(r"<li\b[^>]*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""\b(class|id)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""",
                        re.IGNORECASE)
_MAX_DEPTH = 2048  # libxml2's limit on nesting with huge_tree (XML_PARSE_HUGE)


def sniff(head: bytes) -> bool:
    lowered = head.lower()
    return b"<html" in lowered or b"<!doctype html" in lowered


def parse(stream: BinaryIO, source: str) -> Iterator[Thread]:
    decoded = decode(stream.read(), "html")  # UTF-8 unless its <meta charset> names another
    text, warnings = decoded.text, list(decoded.warnings)
    root, cut_short = _document(text, source)
    items = [li for li in root.iter("li") if _is_item(li)]
    if cut_short:
        lost = max(0, _items_in_markup(text) - len(items))
        warnings.append(f"the page nests elements more than {_MAX_DEPTH} levels deep, where the "
                        f"HTML parser stops reading: {lost} comment(s) and pingback(s) there or "
                        "after it left out")
    article = _article(root)
    comments, pingbacks, item_warnings = _read_items(items, article.url)
    warnings += item_warnings
    if not items:
        warnings.append("no comments found in the page; comments a site loads with JavaScript "
                        "(Disqus, Facebook) are not in saved HTML")
    if root.xpath(f"//*[{_cls('comment-navigation')} or {_cls('comments-pagination')}]"):
        warnings.append("the comments are split over several pages; only this page's are here")
    naive = naive_time_warning(
        article.published_at, *(c.posted_at for c in comments), *(p.posted_at for p in pingbacks)
    )
    if naive:
        warnings.append(naive)
    yield Thread(source=source, format="html", article=article, comments=tuple(comments),
                 pingbacks=tuple(pingbacks), warnings=tuple(warnings))


FORMAT = Format(
    name="html",
    description="a WordPress page saved as HTML (article, comments, pingbacks)",
    sniff=sniff,
    parse=parse,
)


def blocks_from_html(fragment: str) -> tuple[Block, ...]:
    """Headings and paragraphs of an HTML fragment in reading order (Reddit posts use it too)."""
    if not fragment.strip():
        return ()
    wrapper = lxml.html.fragment_fromstring(fragment, create_parent="div")
    return tuple(_blocks(wrapper))


def _document(text: str, source: str) -> tuple[HtmlElement, bool]:
    """The page's tree, and whether libxml2 stopped reading it for nesting too deep.

    Without ``huge_tree`` libxml2 stops at 256 levels of elements, about 125 levels of replies
    (each is an ``li`` in an ``ol``), and says nothing; with it, at 2,048 levels.
    """
    # Bytes with an explicit encoding: lxml refuses str input that carries an XML declaration.
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, huge_tree=True)
    try:
        root = lxml.html.document_fromstring(text.encode("utf-8"), parser=parser)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise ParseError(source, f"not a readable HTML page ({exc})") from None
    return root, any("Excessive depth" in entry.message for entry in parser.error_log)


def _items_in_markup(text: str) -> int:
    """How many comment and pingback ``li`` tags the markup holds, by the same rule as
    :func:`_is_item` (to count those a parse that stopped early did not reach)."""
    count = 0
    for tag in _LI_TAG.finditer(text):
        attributes = {m[1].lower(): m[2] or m[3] or m[4] or "" for m in _ATTRIBUTE.finditer(tag[0])}
        classes = set(attributes.get("class", "").split())
        count += bool(classes & ({"comment"} | _PING_CLASSES)
                      or _ITEM_ID.match(attributes.get("id", "")))
    return count


# --- small lookups ------------------------------------------------------------------------


def _cls(name: str) -> str:
    """An XPath test for one class token."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


def _classes(el: HtmlElement) -> set[str]:
    return set((el.get("class") or "").split())


def _text(el: HtmlElement) -> str:
    """An element's text on one line (a name, a title, a date)."""
    return " ".join(_inner_text(el).split())


def _inner_text(el: HtmlElement) -> str:
    """An element's text with its paragraphs, by :func:`~moderation.parsers.clean.html_to_text`
    (the one HTML-to-text rule of every parser) from the element's markup."""
    return html_to_text(lxml.html.tostring(el, encoding="unicode", with_tail=False))


def _is_awaiting_notice(el: HtmlElement) -> bool:
    """Whether ``el`` is WordPress's notice on a pending comment. Nearly every element is not:
    its raw text without the word tells so before it is converted."""
    return "awaiting" in el.text_content().lower() and bool(_AWAITING.fullmatch(_text(el)))


def _first(values: Sequence[object]) -> str | None:
    """The first non-empty string among XPath results (elements give their text)."""
    for value in values:
        text = _text(value) if isinstance(value, HtmlElement) else normalise(unescape(str(value)))
        if text:
            return text
    return None


# --- comments and pingbacks ---------------------------------------------------------------


def _is_item(li: HtmlElement) -> bool:
    """A comment, pingback or trackback ``li``: by class in current markup, by id in legacy."""
    if _classes(li) & ({"comment"} | _PING_CLASSES):
        return True
    return bool(_ITEM_ID.match(li.get("id") or ""))


def _owner(el: HtmlElement) -> HtmlElement | None:
    """The comment ``li`` that ``el`` belongs to (replies nest inside their parent's ``li``)."""
    for ancestor in el.iterancestors("li"):
        if _is_item(ancestor):
            return ancestor
    return None


def _own(item: HtmlElement, xpath: str) -> list[HtmlElement]:
    """Elements under ``item`` matching ``xpath`` that are not part of a nested reply."""
    return [el for el in item.xpath(xpath) if _owner(el) is item]


def _item_id(item: HtmlElement) -> str | None:
    for el in [item, *_own(item, ".//*[@id]")]:
        match = _ITEM_ID.match(el.get("id") or "")
        if match:
            return match.group(1)
    return None


def _read_items(items: list[HtmlElement], page_url: str | None
                ) -> tuple[list[Comment], list[Pingback], list[str]]:
    comments: list[Comment] = []
    pingbacks: list[Pingback] = []
    ids: dict[HtmlElement, str] = {}
    unread_dates = unnumbered = 0
    parents = _separate(items)
    for position, item in enumerate(items, start=1):
        if _classes(item) & _PING_CLASSES:
            pingbacks.append(_pingback(item))
            continue
        item_id = _item_id(item)
        if item_id is None:
            unnumbered += 1
            item_id = f"position-{position}"
        ids[item] = item_id
        parent = parents[item]
        comment, date_unread = _comment(item, item_id, ids.get(parent) if parent is not None
                                        else None, page_url)
        unread_dates += date_unread
        comments.append(comment)
    warnings = []
    if unnumbered:
        warnings.append(f"{unnumbered} comment(s) have no id in the page; "
                        "named position-N by their place in the page")
    if unread_dates:
        warnings.append(f"{unread_dates} comment date(s) not understood (not English or ISO); "
                        "left empty")
    return comments, pingbacks, warnings


def _separate(items: list[HtmlElement]) -> dict[HtmlElement, HtmlElement | None]:
    """The item each item replies to; then each reply is taken out of its parent's markup.

    After this, everything inside an item is its own, so reading it never walks its replies:
    in a chain of replies a thousand deep, that walk made reading take minutes instead of
    a fraction of a second. The article has been read by then.
    """
    parents = {item: _owner(item) for item in items}
    for item in items:
        holder = item.getparent()
        if parents[item] is not None and holder is not None:
            holder.remove(item)
    return parents


def _comment(item: HtmlElement, item_id: str, parent_id: str | None,
             page_url: str | None) -> tuple[Comment, bool]:
    author_el = next(iter(_own(item, f".//*[{_cls('fn')}] | .//cite")), None)
    link = author_el.xpath(".//a[@href]/@href") if author_el is not None else []
    posted_at, date_unread = _comment_time(item)
    pending = bool(_own(item, f".//*[{_cls('comment-awaiting-moderation')}]")) or any(
        _is_awaiting_notice(el) for el in _own(item, ".//em | .//p")
    )
    comment = Comment(
        id=item_id,
        text=_comment_text(item),
        author=(_text(author_el) or None) if author_el is not None else None,
        posted_at=posted_at,
        parent_id=parent_id,
        status="pending" if pending else "approved",
        url=_permalink(item, item_id, page_url),
        author_url=str(link[0]) if link else None,
    )
    return comment, date_unread


def _permalink(item: HtmlElement, item_id: str, page_url: str | None) -> str | None:
    """The comment's own link (WordPress prints its date as a link to ``#comment-N``), made
    absolute against the page's address; None when the page has neither."""
    for el in _own(item, ".//a[@href]"):
        href = el.get("href", "")
        if "comment-reply-link" in _classes(el) or not href.endswith(f"#comment-{item_id}"):
            continue
        try:
            url = urljoin(page_url, href) if page_url else href
            return url if urlsplit(url).scheme in ("http", "https") else None
        except ValueError:  # "http://[bad": urllib refuses a broken IPv6 host
            return None
    return None


def _comment_time(item: HtmlElement) -> tuple[datetime | None, bool]:
    """The comment's time and whether a printed date was there but not understood."""
    for time in _own(item, ".//time[@datetime]"):
        parsed = parse_date(time.get("datetime", ""))  # present: the path asks for it
        if parsed:
            return parsed, False
    meta = _own(item, f".//*[{_cls('comment-metadata')} or {_cls('commentmetadata')} or "
                      f"{_cls('comment-meta')}]")
    if not meta:
        return None, False
    # Legacy markup prints the date as the text of the comment's permalink; an "(Edit)" link may
    # follow it, so try the first link before the whole line.
    candidates = [*[_text(a) for a in meta[0].iter("a")][:1], _text(meta[0])]
    for candidate in candidates:
        parsed = parse_date(candidate)
        if parsed:
            return parsed, False
    return None, any(candidates)


def _comment_text(item: HtmlElement) -> str:
    content = _own(item, f".//*[{_cls('comment-content')} or {_cls('comment-text')}]")
    if content:
        return _inner_text(content[0])
    # Legacy markup: the comment's paragraphs are bare blocks beside its metadata.
    body = _own(item, f".//*[{_cls('comment-body')}] | .//div[starts-with(@id, 'comment-') or "
                      "starts-with(@id, 'div-comment-')]")
    container = body[0] if body else item
    parts = [
        _inner_text(child)
        for child in container
        if child.tag in _CONTENT_TAGS and not _classes(child) & _NOT_CONTENT
        and not _is_awaiting_notice(child)
    ]
    return "\n\n".join(part for part in parts if part)


def _pingback(item: HtmlElement) -> Pingback:
    content = _own(item, f".//*[{_cls('comment-content')}]")
    links = _own(item, f".//*[{_cls('fn')}]//a[@href]") or [
        a for a in _own(item, ".//a[@href]")
        if not _classes(a) & {"comment-edit-link", "comment-reply-link"}
    ]
    if links:
        label = _text(links[0])
    else:  # a ping with no link: its text, less the "Pingback:" label, is all there is
        label = _PING_LABEL.sub("", _text(content[0] if content else item))
    title, site = split_site(label)
    times = [el.get("datetime", "") for el in _own(item, ".//time[@datetime]")]
    posted_at = next((t for t in map(parse_date, times) if t), None)
    return Pingback(
        title=title,
        site=site,
        url=links[0].get("href") if links else None,
        posted_at=posted_at,
        excerpt=(_inner_text(content[0]) or None) if content else None,
    )


# --- the article --------------------------------------------------------------------------


def _article(root: HtmlElement) -> Article:
    return Article(
        title=_first(_outside_comments([
            *root.xpath(f"//h1[{_cls('entry-title')}]"),
            *root.xpath(f"//*[{_cls('entry-title')}]"),
            *root.xpath("//article//h1"),
            *root.xpath(f"//*[{_cls('post')} or {_cls('hentry')}]/h2"),  # the legacy theme's
        ])) or _page_title(root),
        url=_first(root.xpath("//link[contains(concat(' ', @rel, ' '), ' canonical ')]/@href")
                   + root.xpath("//meta[@property='og:url']/@content")),
        author=_first([
            *_outside_comments(root.xpath(f"//*[{_cls('author')}]//*[{_cls('fn')}]")),
            *_outside_comments(root.xpath("//a[contains(concat(' ', @rel, ' '), ' author ')]")),
            *root.xpath("//meta[@name='author']/@content"),
        ]),
        published_at=_published(root),
        blocks=_body_blocks(root),
        author_bio=_author_bio(root),
    )


def _page_title(root: HtmlElement) -> str | None:
    # og:title and <title> name the site too ("Post – Site", "Site » Blog Archive » Post").
    label = _first(root.xpath("//meta[@property='og:title']/@content") + root.xpath("//title"))
    return split_site(label)[0] if label else None


def _outside_comments(elements: list[HtmlElement]) -> list[HtmlElement]:
    return [el for el in elements if _owner(el) is None]


def _published(root: HtmlElement) -> datetime | None:
    times = _outside_comments(root.xpath(f"//time[{_cls('entry-date')}][@datetime]"))
    values = [t.get("datetime", "") for t in times]
    values += [str(v) for v in root.xpath("//meta[@property='article:published_time']/@content")]
    return next((t for t in map(parse_date, values) if t), None)


def _body_blocks(root: HtmlElement) -> tuple[Block, ...]:
    # .entry-content is WordPress's own; .entry is the legacy default theme's.
    for test in (_cls("entry-content"), _cls("entry"), _cls("post-content")):
        found = _outside_comments(root.xpath(f"//*[{test}]"))
        if found:
            return tuple(_blocks(found[0]))
    return ()


def _author_bio(root: HtmlElement) -> str | None:
    found = root.xpath(f"//*[{_cls('author-bio')} or {_cls('author-description')}] | "
                       "//*[@itemprop='author']//*[@itemprop='description']")
    text = _inner_text(found[0]) if found else ""
    return text or None


def _blocks(container: HtmlElement) -> Iterator[Block]:
    # Depth first, in document order, with a stack of child iterators rather than recursion:
    # markup can nest a thousand levels deep.
    stack = [iter(container)]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
            continue
        if not isinstance(child.tag, str) or child.tag in _SKIP_TAGS:
            continue
        if _FURNITURE.search(f"{child.get('class') or ''} {child.get('id') or ''}"):
            continue
        if child.tag in _HEADING_TAGS:
            text = _inner_text(child).replace("\n", " ")
            if text:
                yield Block(kind="heading", text=text)
        elif child.tag in _LEAF_BLOCK_TAGS and not any(
            isinstance(d.tag, str) and d.tag in _BLOCK_LEVEL for d in child.iterdescendants()
        ):
            text = _inner_text(child)
            if text:
                yield Block(kind="paragraph", text=text)
        else:
            stack.append(iter(child))
