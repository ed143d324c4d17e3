"""Fixtures for the batch-scoring tests: toy-vocabulary threads the toy model can read."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from moderation.cli import main
from moderation.thread import Article, Block, Comment, Pingback, Thread
from tests.tiny_model import FILLER, HOSTILE, INSULTS

# Markup and quotes that must reach the reader as text, never as HTML.
TRICKY = '<script>window.pwned = 1</script> "the" & <b>river</b> idiot'


def toy_comment(rng: random.Random, bad: str | None) -> str:
    words = [rng.choice(FILLER) for _ in range(rng.randint(5, 12))]
    if bad:
        words.insert(rng.randint(0, len(words)), bad)
    return " ".join(words)


def toy_threads(n_threads: int = 3, per_thread: int = 6, seed: int = 7) -> list[Thread]:
    """Threads of toy comments: every third one hostile or insulting, one empty, one tricky."""
    rng = random.Random(seed)
    start = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    threads = []
    for t in range(n_threads):
        comments = []
        for c in range(per_thread):
            bad = (HOSTILE + INSULTS)[(t + c) % 6] if c % 3 == 1 else None
            comments.append(Comment(id=f"t{t}c{c}", text=toy_comment(rng, bad), author=f"reader {c}",
                                    posted_at=start + timedelta(hours=t * 24 + c),
                                    parent_id=f"t{t}c{c - 1}" if c % 2 else None))
        if t == 0:
            comments.append(Comment(id="t0-empty", text="", status="deleted"))
            comments.append(Comment(id="t0-tricky", text=TRICKY, author="<i>mallory</i>"))
        article = Article(title=f"River market news {t}", url=f"https://news.example/{t}",
                          blocks=(Block("paragraph", toy_comment(rng, None)),))
        pingbacks = (Pingback(title=f"Linked from blog {t}", site="Some Blog",
                              url=f"https://blog.example/{t}"),) if t < 2 else ()
        threads.append(Thread(source=f"toy-{t}.xml", format="wxr", article=article,
                              comments=tuple(comments), pingbacks=pingbacks))
    return threads


def write_threads(path: Path, threads: list[Thread]) -> Path:
    path.write_text("".join(json.dumps(t.to_dict()) + "\n" for t in threads), encoding="utf-8")
    return path


def write_flat(path: Path, n: int, seed: int = 3) -> Path:
    """A flat JSONL list of ``n`` toy comments in threads of 50."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        bad = rng.choice(HOSTILE + INSULTS) if i % 4 == 0 else None
        rows.append({"id": f"r{i}", "author": f"user{i % 37}", "thread": f"topic {i // 50}",
                     "text": toy_comment(rng, bad)})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def read_records(path: Path) -> list[dict[str, Any]]:
    # split on "\n" only: records are JSON lines, whatever characters their text holds
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]


def score(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of one in-process ``moderation score`` run."""
    code = main(["score", "-q", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="session")
def toy_thread_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_threads(tmp_path_factory.mktemp("toy-threads") / "threads.jsonl", toy_threads())
