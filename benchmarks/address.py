"""Address parsing: cim.address against cpca and jionlp, side by side in one run.

Throughput: one list of distinct addresses (the hand-labelled real Chengdu addresses in
``tests/data/address_labels.csv`` with room numbers appended to make them distinct) goes
through each parser on one core. Accuracy: per-field exact agreement with the labels, for
the fields each tool reports (cpca: province/city/district; jionlp adds town/community).

The peers are installed for the benchmark only: ``make bench`` does it, or
``.venv/bin/pip install cpca jionlp``.

Run: ``.venv/bin/python benchmarks/address.py [--n 5000]``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
from pathlib import Path

import pandas as pd

from cim.address import ADDRESS_FIELDS, parse_many

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


TOOLS = {"cim.address": run_cim, "cpca": run_cpca, "jionlp": run_jionlp}


def accuracy(got: pd.DataFrame, labels: pd.DataFrame) -> dict[str, float]:
    scores = {}
    for field in got.columns:
        expected = labels[field].replace("", None)
        agree = (expected.isna() & got[field].isna()) | (expected == got[field])
        scores[field] = float(agree.mean())
    return scores


def timed(tool, texts):
    with contextlib.redirect_stdout(io.StringIO()):  # jionlp prints a banner on import
        tool(texts[:10])
    start = time.perf_counter()
    tool(texts)
    return len(texts) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="addresses in the throughput list")
    args = parser.parse_args()

    labels = pd.read_csv(LABELS, dtype=str, keep_default_na=False)
    base = labels["text"].tolist()
    texts = [f"{base[i % len(base)]}{i // len(base) + 1}室" for i in range(args.n)]

    rows = []
    for name, tool in TOOLS.items():
        try:
            rate = timed(tool, texts)
        except ImportError:
            print(f"{name}: not installed (pip install {name}); skipped")
            continue
        with contextlib.redirect_stdout(io.StringIO()):
            scores = accuracy(tool(labels["text"].tolist()), labels)
        rows.append(
            {
                "tool": name,
                "addresses/s": round(rate),
                **{f: scores.get(f) for f in ADDRESS_FIELDS},
                "mean (its fields)": sum(scores.values()) / len(scores),
            }
        )

    table = pd.DataFrame(rows).set_index("tool")
    pd.set_option("display.width", 250)
    print(
        f"{len(texts)} distinct addresses for throughput; {len(labels)} hand-labelled for accuracy\n"
    )
    print(table.to_string(float_format=lambda v: f"{v:.3f}", na_rep="—"))
    ours = table.loc["cim.address", "addresses/s"]
    for peer in table.index.drop("cim.address"):
        print(f"cim.address / {peer}: {ours / table.loc[peer, 'addresses/s']:.1f}x the throughput")


if __name__ == "__main__":
    main()
