"""Safe, streaming and forgiving XML reading, shared by the WXR and Disqus parsers.

Exports are untrusted and can be hundreds of megabytes, so reading them is:

* **safe**: a DOCTYPE that declares entities (billion laughs, external entities pointing at
  ``file:///etc/passwd`` or an URL) is refused before libxml2 sees it; defusedxml's expat
  parser checks the prolog. libxml2 then runs with entity expansion, DTD loading and network
  access off;
* **streaming**: elements are handed out one at a time and cleared once the caller has read
  them, so memory holds one ``<item>`` or ``<post>``, not the file;
* **forgiving**, the way real exports need, each repair reported as a warning: junk (a PHP
  notice, a stray character) before ``<?xml``; invalid UTF-8 (replaced with U+FFFD);
  control characters XML forbids; HTML entities such as ``&nbsp;`` that XML does not define;
  and a file cut off or broken near its end, where everything complete before the break is kept.
"""

from __future__ import annotations

import contextlib
import html.entities
import re
from collections.abc import Collection, Iterable, Iterator
from typing import BinaryIO, cast
from xml.etree.ElementTree import ParseError as ExpatParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser
from lxml import etree

from moderation.encoding import StreamDecoder, decode, detect
from moderation.errors import ParseError

CHUNK_BYTES = 64 * 1024
# The prolog (XML declaration, comments, DOCTYPE) must end within this many bytes.
_MAX_PROLOG = 1024 * 1024
# Characters kept back at the end of each chunk, so a CDATA marker or an entity reference split
# across two chunks is seen whole. Longer than any HTML entity name.
_HOLDBACK = 64

_XML_DECL = re.compile(r"<\?xml[^>]*\?>")
_DECL_ENCODING = re.compile(r"""\s+encoding\s*=\s*(["'])[^"']*\1""")
# Characters XML 1.0 does not allow anywhere, not even as character references.
_FORBIDDEN_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MARKUP = re.compile(r"<!\[CDATA\[|\]\]>|<!--|-->|&([A-Za-z_][\w.-]*);")
_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})
_FIRST_ELEMENT = re.compile(r"<([A-Za-z_][\w.:-]*)")
_PROLOG_NOISE = re.compile(r"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", re.DOTALL | re.IGNORECASE)


def local_name(tag: str) -> str:
    """``item`` from ``{namespace}item`` (or from ``item``)."""
    return tag.rpartition("}")[2]


def tag_name(el: etree._Element) -> str:
    """An element's tag, ``{namespace}item``. The parser gives every element a text tag (comments
    and processing instructions are removed); lxml's stubs allow bytes or a QName as well, which
    only a program that sets ``tag`` itself could leave."""
    return cast(str, el.tag)


def namespace(tag: str) -> str:
    """``namespace`` from ``{namespace}item``; ``""`` for a tag in no namespace."""
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def element_text(el: etree._Element) -> str:
    """All text inside an element (CDATA included), unstripped."""
    if not len(el):  # the common case, and much faster than itertext()
        return el.text or ""
    return "".join(str(text) for text in el.itertext())


def head_text(head: bytes) -> str:
    """The start of an input as text, from its ``<?xml`` declaration when there is one.

    For sniffing: tolerates a byte-order mark and junk before the declaration.
    """
    text = decode(head, "xml").text
    start = text.find("<?xml")
    return text[start:] if start >= 0 else text


def root_name(head: bytes) -> str | None:
    """The local name of the first element in an input's head, or None if it has none."""
    text = _PROLOG_NOISE.sub("", head_text(head))
    match = _FIRST_ELEMENT.search(text)
    return local_name(match.group(1).replace(":", "}", 1)) if match else None


def iter_elements(
    stream: BinaryIO,
    source: str,
    tags: Collection[str],
    warnings: list[str],
    *,
    root: str,
    keep_partial: bool = False,
) -> Iterator[etree._Element]:
    """The outermost elements whose local name is in ``tags``, in document order.

    ``root`` is the local name the document element must have. Each element is complete when
    yielded and is cleared as soon as the caller asks for the next one: read what you need
    first. Problems repaired along the way are appended to ``warnings`` as they are found.

    If the file is cut off or broken, everything complete before the break is yielded and a
    warning says where. With ``keep_partial``, an element the break falls inside is yielded too,
    holding only its complete children (a post whose last comments are missing); without it,
    that element is left out.
    """
    text = _SafeText(stream, source, warnings)
    walker = _Walker(frozenset(tags), root, source)
    parser = etree.XMLPullParser(
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=True,  # long CDATA bodies; safe because entity declarations never get here
        remove_comments=True,
        remove_pis=True,
    )
    closing = False
    try:
        for data in text.chunks():
            parser.feed(data)
            yield from walker.take(parser.read_events())
        text.report()
        closing = True
        parser.close()
        yield from walker.take(parser.read_events())
    except etree.XMLSyntaxError as exc:
        if not closing:
            yield from walker.take(parser.read_events())  # what was read before the break
        # Closing a cut-off file, lxml 6.2 and later end every element still open (the one the
        # cut fell inside, half read); earlier versions end none. The file wrote none of those
        # ends, and everything it did write was read as it was fed.
        text.report()
        yield from walker.cut_off(exc, text.line_offset, keep_partial, warnings)


class _Walker:
    """Turns parser events into finished elements of interest, and frees everything else."""

    def __init__(self, tags: frozenset[str], root: str, source: str) -> None:
        self.tags = tags
        self.root = root
        self.source = source
        self.started = False
        self.current: etree._Element | None = None
        self.last_ended: etree._Element | None = None
        self._interesting: dict[str, bool] = {}

    def take(self, events: Iterable[tuple[str, etree._Element]]) -> Iterator[etree._Element]:
        for event, el in events:
            if event == "start":
                self._start(el)
            elif el is self.current:
                self.last_ended = el
                self.current = None
                yield el
                _discard(el)
            else:
                self.last_ended = el
                if self.current is None:  # nobody asked for it, and it is finished: free it
                    _discard(el)

    def _start(self, el: etree._Element) -> None:
        if not self.started:
            self.started = True
            found = local_name(tag_name(el))
            if found != self.root:
                raise ParseError(
                    self.source,
                    f"the document element is <{found}>, not <{self.root}>: "
                    "this is not the format it was read as",
                )
        if self.current is None and self._wanted(tag_name(el)):
            self.current = el

    def _wanted(self, tag: str) -> bool:
        wanted = self._interesting.get(tag)
        if wanted is None:
            wanted = self._interesting[tag] = local_name(tag) in self.tags
        return wanted

    def cut_off(
        self,
        exc: etree.XMLSyntaxError,
        line_offset: int,
        keep_partial: bool,
        warnings: list[str],
    ) -> Iterator[etree._Element]:
        line = (exc.lineno or 0) + line_offset
        last = exc.error_log.last_error if exc.error_log else None
        why = last.message if last is not None else str(exc.msg)
        if not self.started:
            raise ParseError(self.source, f"not well-formed XML: {why}", line=line or None)
        where = f"the XML is cut off or broken at line {line} ({why})"
        partial = self.current
        if partial is None:
            warnings.append(f"{where}: everything before it was read, the rest ignored")
            return
        name = local_name(tag_name(partial))
        if keep_partial:
            self._drop_unfinished_child(partial)
            if len(partial):
                warnings.append(
                    f"{where}: everything before it was read; of the incomplete last <{name}> "
                    "only its complete parts were kept"
                )
                yield partial
                return
        warnings.append(
            f"{where}: everything before it was read; the incomplete last <{name}> "
            "was left out"
        )

    def _drop_unfinished_child(self, partial: etree._Element) -> None:
        # Children end in document order, so only the last one can be unfinished, and it is
        # finished exactly when it was the last element to end.
        if len(partial) and partial[-1] is not self.last_ended:
            del partial[-1]


def _discard(el: etree._Element) -> None:
    """Free a finished element and its finished earlier siblings (lxml's iterparse idiom)."""
    el.clear()
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]


class _SafeText:
    """The input as UTF-8 chunks libxml2 can read safely, repairs recorded as warnings.

    Decoding (byte-order mark, declared encoding, invalid bytes) follows
    :mod:`moderation.encoding`; libxml2 always gets UTF-8, so the declaration's encoding name
    is dropped."""

    def __init__(self, stream: BinaryIO, source: str, warnings: list[str]) -> None:
        self.stream = stream
        self.source = source
        self.warnings = warnings
        self.decoder: StreamDecoder | None = None
        self.line_offset = 0  # lines of junk skipped before the XML, for error line numbers
        self.entities = _EntityRepair()
        self.guard = _PrologGuard(source)
        self.forbidden_chars = 0
        self._reported = False

    def chunks(self) -> Iterator[bytes]:
        head = self.stream.read(CHUNK_BYTES)
        if not head.strip(b" \t\r\n\x00\xef\xbb\xbf"):
            raise ParseError(self.source, "the input is empty")
        self.decoder = StreamDecoder(detect(head, "xml"))
        data = head
        first = True
        while True:
            final = not data
            text = self.decoder.decode(data, final=final)
            if first:
                text = self._skip_junk(text, self.decoder.encoding.codec)
                first = False
            text = self.entities.feed(self._repair_chars(text), final=final)
            out = text.encode("utf-8")
            self.guard.feed(out)
            if out:
                yield out
            if final:
                break
            data = self.stream.read(CHUNK_BYTES)
        self.guard.close()

    def _skip_junk(self, text: str, codec: str) -> str:
        """Text from the XML declaration (or first tag) on, with its encoding name dropped."""
        start = text.find("<?xml")
        if start < 0:
            start = text.find("<")
        if start < 0:
            raise ParseError(self.source, "not XML: no markup in the first 64 KiB")
        junk = text[:start]
        if junk.strip():
            size = len(junk.encode(codec, errors="replace"))
            self.warnings.append(f"{size} byte(s) of junk before the XML skipped")
        self.line_offset = self.guard.line_offset = junk.count("\n")
        text = text[start:]
        decl = _XML_DECL.match(text)
        if decl:
            rewritten = _DECL_ENCODING.sub("", decl.group(0))
            if not rewritten.isascii():  # an invalid byte in it; libxml2 would refuse the file
                self.warnings.append("invalid characters in the XML declaration; read as "
                                     '<?xml version="1.0"?>')
                rewritten = '<?xml version="1.0"?>'
            text = rewritten + text[decl.end() :]
        return text

    def _repair_chars(self, text: str) -> str:
        if not _FORBIDDEN_CHARS.search(text):  # the usual case: one scan, no copy
            return text
        text, count = _FORBIDDEN_CHARS.subn("", text)
        self.forbidden_chars += count
        return text

    def report(self) -> None:
        """Add one counted warning per kind of repair made so far (once)."""
        if self._reported:
            return
        self._reported = True
        if self.decoder is not None:
            self.warnings.extend(self.decoder.warnings())
        if self.forbidden_chars:
            self.warnings.append(
                f"{self.forbidden_chars} control character(s) that XML does not allow removed"
            )
        self.warnings.extend(self.entities.report())


class _EntityRepair:
    """Rewrites entity references XML does not define, outside CDATA and comments.

    Without a DTD, ``&nbsp;`` is a fatal error to an XML parser, and the rest of the file would
    be lost. HTML entities become character references; unknown names become literal text.
    """

    def __init__(self) -> None:
        self.state = "text"  # or "cdata", "comment"
        self.carry = ""
        self.html_refs = 0
        self.unknown_refs = 0
        self.example: dict[str, str] = {}

    def feed(self, text: str, *, final: bool) -> str:
        text = self.carry + text
        limit = len(text) if final else max(0, len(text) - _HOLDBACK)
        out: list[str] = []
        pos = 0
        for match in _MARKUP.finditer(text):
            if match.start() >= limit:
                break
            limit = max(limit, match.end())
            replacement = self._step(match)
            if replacement is not None:
                out.append(text[pos : match.start()])
                out.append(replacement)
                pos = match.end()
        out.append(text[pos:limit])
        self.carry = text[limit:]
        return "".join(out)

    def _step(self, match: re.Match[str]) -> str | None:
        token, name = match.group(0), match.group(1)
        if self.state == "cdata":
            self.state = "text" if token == "]]>" else "cdata"
        elif self.state == "comment":
            self.state = "text" if token == "-->" else "comment"
        elif token == "<![CDATA[":
            self.state = "cdata"
        elif token == "<!--":
            self.state = "comment"
        elif name and name not in _XML_ENTITIES:
            value = html.entities.html5.get(f"{name};")
            if value is None:
                self.unknown_refs += 1
                self.example.setdefault("unknown", token)
                return f"&amp;{name};"
            self.html_refs += 1
            self.example.setdefault("html", token)
            return "".join(f"&#{ord(c)};" for c in value)
        return None

    def report(self) -> list[str]:
        found = []
        if self.html_refs:
            found.append(
                f"{self.html_refs} HTML entity reference(s) that XML does not define "
                f"(such as {self.example['html']}) read as the characters they name"
            )
        if self.unknown_refs:
            found.append(
                f"{self.unknown_refs} unknown entity reference(s) "
                f"(such as {self.example['unknown']}) kept as literal text"
            )
        return found


class _PrologDone(Exception):
    """Raised from the prolog check when the document element starts."""


class _StopAtRoot:
    """An ElementTree target that stops parsing at the first start tag."""

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        raise _PrologDone

    def end(self, tag: str) -> None:
        """Never reached: parsing stops at the first start tag."""

    def data(self, data: str) -> None:
        """Text before the root is whitespace; nothing to keep."""

    def close(self) -> None:
        """Nothing was built."""


class _PrologGuard:
    """Refuses entity declarations before libxml2 sees them, using defusedxml's expat parser.

    Only the prolog (up to the document element's start tag) passes through it: that is where
    a DOCTYPE, and so any entity declaration, has to be.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.line_offset = 0
        self.parser: DefusedXMLParser | None = DefusedXMLParser(
            target=_StopAtRoot(), forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
        self.seen = 0

    def feed(self, data: bytes) -> None:
        if self.parser is None:
            return
        self.seen += len(data)
        with self._checking():
            self.parser.feed(data)
        if self.parser is not None and self.seen > _MAX_PROLOG:
            raise ParseError(self.source, "no XML document element in the first megabyte")

    def close(self) -> None:
        if self.parser is not None:
            with self._checking():
                self.parser.close()

    @contextlib.contextmanager
    def _checking(self) -> Iterator[None]:
        try:
            yield
        except _PrologDone:
            self.parser = None
        except DefusedXmlException as exc:
            raise ParseError(
                self.source,
                f"refused: the DOCTYPE declares entities ({type(exc).__name__}). Entities can "
                "expand to gigabytes or read local files and URLs; WordPress and Disqus exports "
                "never declare any, so remove the DOCTYPE if this file is genuine",
            ) from None
        except ExpatParseError as exc:
            line = exc.position[0] + self.line_offset if exc.position else None
            raise ParseError(self.source, f"not well-formed XML: {exc.msg}", line=line) from None
        except LookupError as exc:  # a declaration whose encoding expat does not know
            raise ParseError(self.source, f"not well-formed XML: {exc}; convert the file to "
                             "UTF-8") from None
