"""The ``moderation`` command line. Sub-commands import what they need when they run, so
``moderation --help`` and ``moderation parse`` never load torch."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from moderation.errors import ModerationError
from moderation.io import atomic_output


def _error(message: str) -> None:
    print(f"moderation: {message}", file=sys.stderr)


def cmd_parse(args: argparse.Namespace) -> int:
    from moderation.parsers import expand_paths, parse_file

    failed = files = threads = 0
    with atomic_output(args.output) as out:
        for path in expand_paths(args.paths):
            files += 1
            written = 0
            try:
                for thread in parse_file(path, args.format):
                    out.write(json.dumps(thread.to_dict(), ensure_ascii=False) + "\n")
                    written += 1
                    for warning in thread.warnings:
                        print(f"{path}: warning: {warning}", file=sys.stderr)
            except ModerationError as exc:
                failed += 1
                extra = f" (after {written} thread(s) written)" if written else ""
                _error(f"{exc}{extra}")
            threads += written
    print(
        f"parsed {threads} thread(s) from {files} file(s)"
        + (f"; {failed} file(s) failed" if failed else ""),
        file=sys.stderr,
    )
    return 1 if failed or not files else 0


def build_parser() -> argparse.ArgumentParser:
    from moderation import __version__
    from moderation.parsers import format_names

    parser = argparse.ArgumentParser(
        prog="moderation",
        description="Parse comment-thread exports and score comments for hostility and "
        "propaganda techniques.",
    )
    parser.add_argument("--version", action="version", version=f"moderation {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "parse",
        help="parse exports (WXR, Disqus, HTML, Reddit, text, JSON) into thread JSONL",
        description="Parse comment-thread exports into one JSON thread per line.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, directories or - for stdin")
    p.add_argument("--format", choices=format_names(), help="skip detection and use this format")
    p.add_argument("-o", "--output", default="-", help="output file (default: stdout)")
    p.set_defaults(func=cmd_parse)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ModerationError as exc:
        _error(str(exc))
        return 2
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
