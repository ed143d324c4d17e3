"""The long fuzz run: ``python -m tests.fuzz --minutes 10``.

Mutates the corpus (seeds/ and tests/fuzz/corpus/) for every reader in turn until the time is
up, and prints how many inputs ran and the crashes found (an exception other than a
ModerationError, or an output that cannot be written as UTF-8). Each crash's input is saved
under tests/fuzz/crashes/TARGET/ (ignored by git); an input that showed behaviour the corpus had
not shown (a new kind of warning, error or outcome) joins tests/fuzz/corpus/TARGET/ (20 at
most a target and a run, of 8 KiB at most, so the test suite can replay them all) unless
--no-grow.

``--engine atheris`` (``pip install atheris``; Linux) runs libFuzzer's coverage-guided search
instead, one target after another, with the same rule, corpus and token dictionary; what reaches
new code goes to tests/fuzz/atheris-corpus/TARGET/ (ignored by git: hundreds of inputs), which
the next atheris run starts from. The default engine, hypothesis, needs nothing beyond the test
dependencies.
Exit status 1 when a crash was found.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from tests.fuzz.harness import (
    CORPUS,
    CRASHES,
    HERE,
    TARGETS,
    TOKENS,
    Drawn,
    corpus,
    mutate,
    run_one,
    save,
)

SLOW_SECONDS = 5.0  # an input that takes longer is reported (a hang in the making)
# The corpus stays small enough to replay in the test suite: small inputs only, a few a run.
GROW_BYTES = 8 * 1024
GROW_PER_RUN = 20
ATHERIS_CORPUS = HERE / "atheris-corpus"  # atheris's own, grown run to run; ignored by git


def hypothesis_run(targets: list[str], seconds: float, seed: int, grow: bool) -> dict:
    """Mutate each target's corpus with Hypothesis choosing the edits, round robin, until the
    time is up. Hypothesis is the generator here, not the judge: a crash is recorded and the
    run goes on."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis import strategies as st

    execs: Counter[str] = Counter()
    crashes: dict[str, int] = {}
    slow: list[str] = []
    added: Counter[str] = Counter()
    inputs = {t: corpus(t) for t in targets}
    seen = {t: {run_one(t, data)[1] for data in inputs[t]} for t in targets}
    deadline = time.monotonic() + seconds

    def fuzz_round(target: str, round_number: int) -> None:
        @hypothesis_seed(seed * 100_003 + round_number)
        @settings(max_examples=50, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(st.data())
        def one(data: st.DataObject) -> None:
            choose = Drawn(data)
            sample = mutate(choose.pick(inputs[target]), choose, inputs[target])
            started = time.monotonic()
            crash, signature = run_one(target, sample)
            took = time.monotonic() - started
            execs[target] += 1
            if took > SLOW_SECONDS:
                slow.append(f"{target}: {took:.1f}s, saved as "
                            f"{save(CRASHES / target / 'slow', sample)}")
            if crash is not None:
                crashes[str(crash)] = crashes.get(str(crash), 0) + 1
                save(CRASHES / target, sample)
            elif signature not in seen[target]:
                seen[target].add(signature)
                if grow and len(sample) <= GROW_BYTES and added[target] < GROW_PER_RUN:
                    save(CORPUS / target, sample)
                    added[target] += 1

        one()

    round_number = 0
    while time.monotonic() < deadline:
        for target in targets:
            if time.monotonic() >= deadline:
                break
            fuzz_round(target, round_number)
            round_number += 1
    return {"engine": "hypothesis", "executions": dict(execs), "total": sum(execs.values()),
            "crashes": crashes, "slow": slow, "corpus_added": dict(added)}


def atheris_run(targets: list[str], seconds: float, grow: bool) -> dict:
    """libFuzzer through atheris, one child process per target for an equal share of time."""
    try:
        import atheris  # noqa: F401
    except ImportError:
        sys.exit("atheris is not installed: pip install atheris (Linux), or use the default "
                 "engine, hypothesis")
    share = max(5, int(seconds / len(targets)))
    execs: dict[str, int] = {}
    crashes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        dictionary = Path(tmp) / "tokens.dict"
        dictionary.write_text("".join(
            '"' + "".join(f"\\x{b:02x}" for b in token) + '"\n' for token in TOKENS if token))
        for target in targets:
            log = Path(tmp) / f"{target}.jsonl"
            folders = []
            if grow:  # libFuzzer adds what reaches new code to the first folder: hundreds
                (ATHERIS_CORPUS / target).mkdir(parents=True, exist_ok=True)
                folders.append(str(ATHERIS_CORPUS / target))
            seeds = Path(tmp) / f"seeds-{target}"
            seeds.mkdir()
            for data in corpus(target):
                save(seeds, data)
            folders.append(str(seeds))
            command = [sys.executable, "-m", "tests.fuzz.atheris_target", target, str(log),
                       f"-max_total_time={share}", f"-dict={dictionary}", "-timeout=30",
                       "-rss_limit_mb=4096", "-max_len=262144", *folders]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            runs = re.findall(r"Done (\d+) runs", done.stderr) or re.findall(r"#(\d+)", done.stderr)
            execs[target] = int(runs[-1]) if runs else 0
            if log.exists():
                for line in log.read_text().splitlines():
                    found = json.loads(line)
                    crashes[found["crash"]] = crashes.get(found["crash"], 0) + 1
                    save(CRASHES / target, bytes.fromhex(found["input"]))
            if done.returncode not in (0, 1) and not execs[target]:
                print(done.stderr[-2000:], file=sys.stderr)
    return {"engine": "atheris", "executions": execs, "total": sum(execs.values()),
            "crashes": crashes, "slow": [], "corpus_added": None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, help="overrides --minutes")
    parser.add_argument("--engine", choices=("hypothesis", "atheris"), default="hypothesis")
    parser.add_argument("--target", action="append", choices=sorted(TARGETS),
                        help="fuzz only this reader (repeatable; default: all)")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--no-grow", dest="grow", action="store_false",
                        help="do not add new inputs to tests/fuzz/corpus/")
    args = parser.parse_args(argv)
    seconds = args.seconds if args.seconds is not None else args.minutes * 60
    targets = args.target or list(TARGETS)
    if args.engine == "atheris":
        result = atheris_run(targets, seconds, args.grow)
    else:
        result = hypothesis_run(targets, seconds, args.seed, args.grow)
    result["seed"] = args.seed
    print(json.dumps(result, indent=2))
    return 1 if result["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
