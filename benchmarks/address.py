"""Address parsing: cim.address against cpca and jionlp, side by side in one run.

Throughput: one list of distinct addresses (the hand-labelled real Chengdu addresses in
``tests/data/address_labels.csv`` with room numbers appended to make them distinct, 100,000
by default) goes through each parser on one core; ours gives all twelve fields, cpca three
(province, city, district), jionlp five (adding town and community). jionlp is timed on the
first ``--jionlp-n`` addresses only (it reads ~200 a second). Each tool is timed
``--repeat`` times, in turns; rates are addresses per CPU second of this process, so that
other work on a shared machine does not count, and are printed as their range.

A second list is the worst case for our division reading: every address has its own
division prefix (a random district, town or community of the division table written out in
full, then a road and a number), so nothing is read once for many.

Accuracy: per-field exact agreement with the labels, for the fields each tool reports.
Memory: what the division tables hold once loaded (tracemalloc; the resident-set growth as
well), against what importing cpca adds, and the peak of one ``parse_many`` of the list.

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
import time
import tracemalloc
from pathlib import Path

import pandas as pd

from cim.address import ADDRESS_FIELDS, parse_many
from cim.address.divisions import divisions
from cim.paths import DIVISIONS_CSV

LABELS = Path(__file__).resolve().parent.parent / "tests" / "data" / "address_labels.csv"


def run_cim(texts: list[str]) -> pd.DataFrame:
    return parse_many(texts)[list(ADDRESS_FIELDS)]


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


def resident() -> int:
    """Bytes resident in this process now (Linux ``VmRSS``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def loaded(load) -> tuple[float, float]:
    """MB that ``load()`` leaves allocated (tracemalloc) and MB it adds to the resident set."""
    before = resident()
    tracemalloc.start()
    load()
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return held / 1e6, (resident() - before) / 1e6


def peak(call) -> float:
    """MB allocated at the peak of ``call()`` beyond what was there before (tracemalloc)."""
    tracemalloc.start()
    call()
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return top / 1e6


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="addresses in the throughput list")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per tool")
    parser.add_argument("--jionlp-n", type=int, default=300, help="addresses jionlp is timed on")
    args = parser.parse_args()

    # read first, so that pandas' first-use allocations do not count as our tables
    labels = pd.read_csv(LABELS, dtype=str, keep_default_na=False)
    # before any parse: our tables load on the first one, cpca's on import
    memory = {"cim.address": loaded(divisions)}
    with contextlib.suppress(ImportError):
        memory["cpca"] = loaded(lambda: run_cpca(["北京市朝阳区"]))

    base = labels["text"].tolist()
    texts = [f"{base[i % len(base)]}{i // len(base) + 1}室" for i in range(args.n)]

    available = {}
    for name, (tool, _) in TOOLS.items():
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                tool(texts[:1])
        except ImportError:
            print(f"{name}: not installed (pip install {name}); skipped")
            continue
        available[name] = tool
    timed = rates({k: v for k, v in available.items() if k != "jionlp"}, texts, args.repeat)
    if "jionlp" in available:
        timed |= rates({"jionlp": available["jionlp"]}, texts[: args.jionlp_n], args.repeat)

    rows = []
    for name, tool in available.items():
        with contextlib.redirect_stdout(io.StringIO()):
            scores = accuracy(tool(labels["text"].tolist()), labels)
        rows.append(
            {
                "tool": name,
                "fields": TOOLS[name][1],
                "addresses/s": span(timed[name]),
                **{f: scores.get(f) for f in ADDRESS_FIELDS},
                "mean (its fields)": sum(scores.values()) / len(scores),
            }
        )
    table = pd.DataFrame(rows).set_index("tool")
    pd.set_option("display.width", 250)
    print(
        f"{len(texts):,} distinct addresses for throughput (jionlp: the first {args.jionlp_n}); "
        f"{len(labels)} hand-labelled for accuracy; {args.repeat} runs each, rates per CPU second\n"
    )
    print(table.to_string(float_format=lambda v: f"{v:.3f}", na_rep="—"))
    ours = statistics.median(timed["cim.address"])
    for peer in table.index.drop("cim.address"):
        print(
            f"cim.address / {peer}: {ours / statistics.median(timed[peer]):.2f}x the throughput "
            f"(medians; ours {TOOLS['cim.address'][1]} fields, {peer} {TOOLS[peer][1]})"
        )

    worst = spread(min(args.n, 50_000))
    heads = {"cim.address": available["cim.address"]}
    if "cpca" in available:
        heads["cpca"] = available["cpca"]
    timed = rates(heads, worst, args.repeat)
    print(
        f"\nworst case, {len(worst):,} addresses each with its own division prefix: "
        + "; ".join(f"{name} {span(r)}/s" for name, r in timed.items())
        + (
            f"; ours / cpca {statistics.median(timed['cim.address']) / statistics.median(timed['cpca']):.2f}x"
            if "cpca" in timed
            else ""
        )
    )

    held, grown = memory["cim.address"]
    print(
        f"\nmemory: our division tables ({len(divisions().by_code):,} divisions) hold "
        f"{held:.1f} MB once loaded (resident set +{grown:.0f} MB); one parse_many of "
        f"{len(texts):,} addresses peaks at {peak(lambda: parse_many(texts)):.0f} MB"
    )
    if "cpca" in memory:
        held, grown = memory["cpca"]
        print(f"        cpca once imported: {held:.1f} MB (resident set +{grown:.0f} MB)")


if __name__ == "__main__":
    main()
