"""The short fuzz run of the default test suite: the whole corpus replayed, then a few hundred
mutations of it per reader. Hypothesis draws the mutations from a fixed seed
(``derandomize``), so a run is the same every time and a failure repeats; the long, random run
is ``python -m tests.fuzz`` (see README: Testing)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.harness import TARGETS, Drawn, corpus, corpus_files, mutate, run_one

EXAMPLES = 200  # per reader: 2,200 inputs in all, 5 to 8 seconds on one core


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_the_corpus_reads_without_a_crash(target: str) -> None:
    for data in corpus(target):
        crash, _ = run_one(target, data)
        assert crash is None, f"{crash} on an input of {len(data)} bytes"


def test_every_corpus_folder_belongs_to_a_reader() -> None:
    folders = {target for target, _ in corpus_files()}
    assert folders <= set(TARGETS) and len(folders) >= 9


@pytest.mark.parametrize("target", sorted(TARGETS))
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutated_inputs_never_crash(target: str, data: st.DataObject) -> None:
    choose = Drawn(data)
    inputs = corpus(target)
    sample = mutate(choose.pick(inputs), choose, inputs)
    crash, _ = run_one(target, sample)
    assert crash is None, f"{crash} on {sample[:200]!r}... ({len(sample)} bytes)"
