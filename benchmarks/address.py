"""Address parsing: cim.address against cpca and jionlp, side by side in one run.

Throughput: two lists of distinct addresses (the hand-labelled Chengdu addresses of
``tests/data/address_labels.csv``, and the national ones of
``tests/data/national_address_labels.csv``, each with room numbers appended to make them
distinct, 100,000 by default) go through each parser on one core; ours gives all twelve
fields, cpca three (province, city, district), jionlp five (adding town and community).
jionlp is timed on the first ``--jionlp-n`` addresses only (it reads ~200 a second). Each tool
is timed ``--repeat`` times, in turns; rates are addresses per CPU second of this process, so
that other work on a shared machine does not count, and are printed as their range.

A second list is the worst case for our division reading: every address has its own
division prefix (a random district, town or community of the division table written out in
full, then a road and a number), so no text head is read once for many; only the province,
city and district before a town are (parse_many keeps how a batch's shared prefixes read).

Accuracy: per-field exact agreement with the labels (both empty counts as agreement), for
the fields each tool reports, on each hand-labelled set of ``tests/data`` (conventions in
``tests/data/address_labels.md``): the Chengdu set (ours with ``home="四川省成都市"``, the
context of those records, and without it; the peers take none), the national set (19 provinces),
Chengdu's rural districts and counties, and the held-out set (30 provinces and Chengdu, written
without looking at the parser).
Memory: what the division tables hold once loaded (tracemalloc; the resident-set growth
measured apart in a fresh interpreter), against what importing cpca adds, and the peak of one
``parse_many`` of the list.

The peers are installed for the benchmark only: ``make bench`` does it, or
``.venv/bin/pip install cpca jionlp``.

Run: ``.venv/bin/python benchmarks/address.py [--n 100000] [--repeat 3] [--jionlp-n 300]``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pandas as pd

from cim.address import ADDRESS_FIELDS, parse_many
from cim.address.divisions import divisions
from cim.paths import DIVISIONS_CSV

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
LABELS = DATA / "address_labels.csv"
SETS = (  # name, file, our home
    ("Chengdu (real texts)", LABELS, "四川省成都市"),
    ("national (19 provinces)", DATA / "national_address_labels.csv", None),
    ("Chengdu rural", DATA / "chengdu_rural_address_labels.csv", None),
    ("held out (30 provinces)", DATA / "heldout_address_labels.csv", None),
)


def run_cim(texts: list[str], home: str | None = None) -> pd.DataFrame:
    return parse_many(texts, home=home)[list(ADDRESS_FIELDS)]


def run_cpca(texts: list[str]) -> pd.DataFrame:
    import cpca

    out = cpca.transform(texts)
    frame = pd.DataFrame({"province": out["省"], "city": out["市"], "district": out["区"]})
    return frame.replace({"": None}).astype(object).where(frame.notna(), None)


def run_jionlp(texts: list[str]) -> pd.DataFrame:
    import jionlp

    rows = []
    for text in texts:
        found = jionlp.parse_location(text, town_village=True)
        rows.append(
            {
                "province": found.get("province"),
                "city": found.get("city"),
                "district": found.get("county"),
                "town": found.get("town"),
                "community": found.get("village"),
            }
        )
    return pd.DataFrame(rows)


TOOLS = {  # name: (run, fields it gives)
    "cim.address": (run_cim, 12),
    "cpca": (run_cpca, 3),
    "jionlp": (run_jionlp, 5),
}


def accuracy(got: pd.DataFrame, labels: pd.DataFrame) -> dict[str, float]:
    scores = {}
    for field in got.columns:
        expected = labels[field].replace("", None)
        agree = (expected.isna() & got[field].isna()) | (expected == got[field])
        scores[field] = float(agree.mean())
    return scores


def rate(tool, texts: list[str]) -> float:
    """Addresses per CPU second of one call."""
    start = time.process_time()
    tool(texts)
    return len(texts) / (time.process_time() - start)


def rates(tools: dict, texts: list[str], repeat: int) -> dict[str, list[float]]:
    """Each tool's rate ``repeat`` times, in turns, after a warm-up call."""
    for tool in tools.values():
        with contextlib.redirect_stdout(io.StringIO()):  # jionlp prints a banner on import
            tool(texts[:10])
    out: dict[str, list[float]] = {name: [] for name in tools}
    for _ in range(repeat):
        for name, tool in tools.items():
            out[name].append(rate(tool, texts))
    return out


def span(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:,.0f}" if round(low) == round(high) else f"{low:,.0f}–{high:,.0f}"


_RSS_KB = "int(open('/proc/self/status').read().split('VmRSS:')[1].split()[0])"


def traced(call) -> tuple[float, float]:
    """MB that ``call()`` leaves allocated, and MB allocated at its peak (tracemalloc)."""
    tracemalloc.start()
    call()
    kept, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return kept / 1e6, top / 1e6


def resident_growth(setup: str, load: str) -> float:
    """MB that the statement ``load`` adds to the resident set (Linux ``VmRSS``) of a fresh
    interpreter after ``setup``, without tracemalloc's own bookkeeping."""
    code = f"{setup}\nbefore = {_RSS_KB}\n{load}\nprint({_RSS_KB} - before)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1]) / 1024


def spread(n: int) -> list[str]:
    """Addresses each with its own division prefix (seeded), for the worst case."""
    rng = random.Random(0)
    table = pd.read_csv(DIVISIONS_CSV, dtype=str, keep_default_na=False)
    names = dict(zip(table["code"], table["name"], strict=True))
    parents = dict(zip(table["code"], table["parent_code"], strict=True))
    fine = table.loc[table["level"].isin(["district", "town", "community"]), "code"].tolist()
    roads = pd.read_csv(LABELS, dtype=str, keep_default_na=False)["road"]
    roads = sorted({r for r in roads if r})
    texts = []
    for i in range(n):
        code, chain = rng.choice(fine), []
        while code in names:
            chain.append(names[code])
            code = parents[code]
        texts.append("".join(reversed(chain)) + rng.choice(roads) + f"{i % 997 + 1}号")
    return texts


def distinct(texts: list[str], n: int) -> list[str]:
    """``n`` distinct addresses: the texts again and again, each with its own room number."""
    return [f"{texts[i % len(texts)]}{i // len(texts) + 1}室" for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="addresses in each throughput list")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per tool")
    parser.add_argument("--jionlp-n", type=int, default=300, help="addresses jionlp is timed on")
    args = parser.parse_args()

    # read first, so that pandas' first-use allocations do not count as our tables
    sets = [
        (name, pd.read_csv(path, dtype=str, keep_default_na=False), home)
        for name, path, home in SETS
    ]
    # before any parse: our tables load on the first one, cpca's on import
    memory = {
        "cim.address": (
            traced(divisions)[0],
            resident_growth("import pandas, cim.address.divisions as d", "d.divisions()"),
        )
    }
    with contextlib.suppress(ImportError):
        memory["cpca"] = (
            traced(lambda: run_cpca(["北京市朝阳区"]))[0],
            resident_growth("import pandas", "import cpca; cpca.transform(['北京市朝阳区'])"),
        )

    available = {}
    for name, (tool, _) in TOOLS.items():
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                tool(["北京市朝阳区建国路88号"])
        except ImportError:
            print(f"{name}: not installed (pip install {name}); skipped")
            continue
        available[name] = tool
    pd.set_option("display.width", 250)

    lists = {name: distinct(labels["text"].tolist(), args.n) for name, labels, _ in sets[:2]}
    timed = {}
    for list_name, texts in lists.items():
        timed[list_name] = rates(
            {k: v for k, v in available.items() if k != "jionlp"}, texts, args.repeat
        )
        if "jionlp" in available:
            timed[list_name] |= rates(
                {"jionlp": available["jionlp"]}, texts[: args.jionlp_n], args.repeat
            )
    print(
        f"throughput: {args.n:,} distinct addresses per list (jionlp: the first "
        f"{args.jionlp_n}), {args.repeat} runs each, addresses per CPU second\n"
    )
    speed = pd.DataFrame(
        {
            list_name: {name: span(r) for name, r in by_tool.items()}
            for list_name, by_tool in timed.items()
        }
    )
    speed.insert(0, "fields", [TOOLS[name][1] for name in speed.index])
    print(speed.to_string())
    for list_name, by_tool in timed.items():
        ours = statistics.median(by_tool["cim.address"])
        for peer in [p for p in by_tool if p != "cim.address"]:
            print(
                f"{list_name}: cim.address / {peer} {ours / statistics.median(by_tool[peer]):.2f}x "
                f"the throughput (medians; ours {TOOLS['cim.address'][1]} fields, "
                f"{peer} {TOOLS[peer][1]})"
            )

    for set_name, labels, home in sets:
        rows = []
        texts = labels["text"].tolist()
        runs = [(name, tool, home) for name, tool in available.items()]
        if home is not None:  # ours without the set's context too: ambiguous, never wrong
            runs.insert(1, ("cim.address, no home", available["cim.address"], None))
        for name, tool, context in runs:
            with contextlib.redirect_stdout(io.StringIO()):
                got = tool(texts, context) if tool is run_cim else tool(texts)
            scores = accuracy(got, labels)
            rows.append(
                {
                    "tool": name,
                    **{f: scores.get(f) for f in ADDRESS_FIELDS},
                    "mean (its fields)": sum(scores.values()) / len(scores),
                }
            )
        table = pd.DataFrame(rows).set_index("tool")
        print(f"\n{set_name}: {len(labels)} hand-labelled addresses, per-field exact agreement")
        print(table.to_string(float_format=lambda v: f"{v:.3f}", na_rep="—"))

    worst = spread(min(args.n, 50_000))
    heads = {"cim.address": available["cim.address"]}
    if "cpca" in available:
        heads["cpca"] = available["cpca"]
    worst_rates = rates(heads, worst, args.repeat)
    ratio = ""
    if "cpca" in worst_rates:
        ours = statistics.median(worst_rates["cim.address"])
        ratio = f"; ours / cpca {ours / statistics.median(worst_rates['cpca']):.2f}x"
    print(
        f"\nworst case, {len(worst):,} addresses each with its own division prefix (down to a "
        "town or community): "
        + "; ".join(f"{name} {span(r)}/s" for name, r in worst_rates.items())
        + ratio
    )

    held, grown = memory["cim.address"]
    texts = lists[sets[0][0]]
    print(
        f"\nmemory: our division tables ({len(divisions().by_code):,} divisions) hold "
        f"{held:.1f} MB once loaded (resident set +{grown:.0f} MB); one parse_many of "
        f"{len(texts):,} addresses peaks at {traced(lambda: parse_many(texts))[1]:.0f} MB"
    )
    if "cpca" in memory:
        held, grown = memory["cpca"]
        print(f"        cpca once imported: {held:.1f} MB (resident set +{grown:.0f} MB)")


if __name__ == "__main__":
    main()
