"""Event intake at scale, and every vital sign at grid level, on the Chengdu sample.

1. 100,000 synthetic events (half hotline calls geocoded through the address base, patrol
   reports, sensor alarms): located, classified, emergencies dispatched, and logged to SQLite
   in batches of 2,000 — the whole of ``cim events ingest``. Prints events per second.
2. The 22 shipped indicators for the 6,454 grid cells of the sample.

There is no packaged peer for either; the figures are throughput on this machine.
Run: ``.venv/bin/python benchmarks/events.py [--events 100000]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import cim
import routing
from cim.address import AddressBase
from cim.events import EventLog, ingest
from cim.sample import synthetic_events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    warnings.simplefilter("ignore", routing.UnreachableNodesWarning)
    city = cim.sample_city()
    base = AddressBase.from_city(city)
    city.graph  # noqa: B018
    events = synthetic_events(city, args.events, seed=3)
    with EventLog(Path(tempfile.mkdtemp(prefix="cim-events-")) / "events.db") as log:
        start = time.perf_counter()
        result = ingest(events, city, log, base=base)
        seconds = time.perf_counter() - start
        by_status = log.events()["status"].value_counts().to_dict()
    print(
        f"{args.events:,} events ingested in {seconds:.1f} s: {args.events / seconds:,.0f} events/s"
    )
    print(
        f"  {result.dispatched:,} units dispatched, {result.unlocated:,} waiting for a location "
        f"or a unit; states {by_status}"
    )
    start = time.perf_counter()
    table = city.vitals("grid")
    seconds = time.perf_counter() - start
    print(
        f"{table['indicator_id'].nunique()} indicators x {table['unit_code'].nunique():,} grid "
        f"cells in {seconds:.1f} s; status {table['status'].value_counts().to_dict()}"
    )


if __name__ == "__main__":
    main()
