"""Import time: ``import cim.address`` under 1 s, ``import cim`` under 2 s, ``cim --help`` under 1 s.

Each statement runs in a fresh interpreter with ``python -X importtime``, several times; the
median of the total import time is compared with its limit (ratio and margin). The top
contributors are listed twice, as medians over the runs: each library's own time (self time
summed per top-level package) and each library our code imports directly, with everything it
pulled in (cumulative time, charged where it was first imported). ``cim --help`` is also timed
as the whole process, interpreter start included.

Run: ``.venv/bin/python benchmarks/imports.py [--runs 5] [--top 6]``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections import Counter

TARGETS = {  # statement: limit in seconds
    "import cim.address": 1.0,
    "import cim": 2.0,
    "from cim.cli import app; app(['--help'], prog_name='cim')": 1.0,
}
OURS = {"cim", "layers", "routing"}


class Run:
    """One fresh interpreter: total import time, its contributors and the wall time (s)."""

    def __init__(self, statement: str) -> None:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", statement],
            capture_output=True,
            text=True,
            check=False,
        )
        self.wall = time.perf_counter() - started
        if done.returncode:
            raise RuntimeError(f"{statement!r} failed:\n{done.stderr[-2000:]}")
        self.total, self.own, self.pulled = 0.0, Counter(), Counter()
        parents: list[str] = []  # the chain of importers above the current line
        for line in reversed(
            done.stderr.splitlines()
        ):  # importers are printed after what they import
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            own, cumulative, field = line.removeprefix("import time:").split("|")
            depth, name = (len(field) - len(field.lstrip()) - 1) // 2, field.strip()
            del parents[depth:]
            package = name.split(".")[0]
            self.own[package] += int(own) / 1e6
            if depth == 0:
                self.total += int(cumulative) / 1e6
            elif parents[-1].split(".")[0] in OURS and package not in OURS:
                self.pulled[f"{name} (by {parents[-1]})"] += int(cumulative) / 1e6
            parents.append(name)


def _top(counters: list[Counter], n: int) -> str:
    keys = {k for c in counters for k in c}
    median = {k: statistics.median(c[k] for c in counters) for k in keys}
    top = sorted(median.items(), key=lambda item: -item[1])[:n]
    return ", ".join(f"{name} {seconds:.2f} s" for name, seconds in top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh interpreters per statement")
    parser.add_argument("--top", type=int, default=6, help="contributors listed per statement")
    args = parser.parse_args()
    over = []
    for statement, limit in TARGETS.items():
        runs = [Run(statement) for _ in range(args.runs)]
        total = statistics.median(r.total for r in runs)
        wall = statistics.median(r.wall for r in runs)
        print(
            f"{statement}\n  import {total:.2f} s (median of {args.runs}; process {wall:.2f} s): "
            f"{total / limit:.0%} of the {limit:g} s limit, margin {limit - total:+.2f} s"
            f"{'' if total < limit else '  OVER'}"
        )
        print(f"  libraries, own time: {_top([r.own for r in runs], args.top)}")
        print(f"  imported by our code: {_top([r.pulled for r in runs], args.top)}")
        if total >= limit:
            over.append(statement)
    if over:
        raise SystemExit(f"over the limit: {'; '.join(over)}")


if __name__ == "__main__":
    main()
