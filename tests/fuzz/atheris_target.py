"""One atheris (libFuzzer) target: ``python -m tests.fuzz.atheris_target TARGET LOG [libFuzzer
options and corpus folders]``; ``python -m tests.fuzz --engine atheris`` runs it.

A crash is logged to LOG (one JSON line: the crash and the input in hex) and the search goes on,
so one run counts every kind of crash rather than stopping at the first.
"""

from __future__ import annotations

import json
import sys

import atheris

with atheris.instrument_imports(include=["moderation"]):
    from tests.fuzz.harness import run_one


def main() -> None:
    target, log = sys.argv[1], sys.argv[2]
    seen: set[str] = set()

    def one(data: bytes) -> None:
        crash, _ = run_one(target, data)
        if crash is not None and str(crash) not in seen:
            seen.add(str(crash))
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"crash": str(crash), "input": data.hex()}) + "\n")

    atheris.Setup([sys.argv[0], *sys.argv[3:]], one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
