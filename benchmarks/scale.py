"""Scale-out: address parsing and sensor counts per grid cell at city scale, on Dask.

Writes synthetic data by seed (:mod:`cim.distributed.scale_data`: N addresses, N sensors as
Parquet partitions), then runs each job three ways on the same partitions:

- ``in-process``: partition after partition in one process (the toolkit's default);
- ``local:1`` and ``local:2``: a :class:`distributed.LocalCluster` of 1 and 2 worker processes,
  each limited to ``--memory-limit`` (2 GB), started fresh for each run.

It prints the wall time, the speed-up over ``local:1``, and the CPU seconds and peak
resident memory of each process that did the work: the in-process run in a fresh child
process, each worker as the scheduler's heartbeats report it, sampled every 0.2 s. The CPU
seconds show how evenly the work was shared even when other programs hold the cores and
the wall-clock speed-up cannot. Every run first loads the modules and the division table,
outside the time. Before them, one whole-table call at ``--whole`` rows (``parse_many`` on
a list, as ``cim address parse`` reads one file) gives the memory a single-table
in-process run needs per row, scaled to N.

Run: ``.venv/bin/python benchmarks/scale.py [--addresses 10000000] [--sensors 10000000]``
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import shutil
import tempfile
import threading
import time
import warnings
from pathlib import Path

import pandas as pd
import psutil

import routing
from cim.address import parse_many
from cim.address.divisions import divisions
from cim.distributed import connect, parse_partitions, partition_paths, sensor_counts
from cim.distributed.scale_data import write_scale_data
from cim.sample import sample_city

MODES = ("local:1", "local:2", "in-process")  # the speed-up first, should time run out


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


class _Peak:
    """The largest resident set seen, every 0.2 s: of this process, or of each worker of
    ``client`` as the scheduler's heartbeats report it."""

    def __init__(self, client=None):
        self.client, self.peaks = client, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _sample(self) -> dict:
        if self.client is None:
            return {"self": _rss_mb()}
        workers = self.client.scheduler_info(n_workers=-1)["workers"]
        return {a: w["metrics"]["memory"] / 2**20 for a, w in workers.items()}

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            for key, mb in self._sample().items():
                self.peaks[key] = max(mb, self.peaks.get(key, 0.0))

    def __enter__(self) -> _Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def values(self) -> list[float]:
        return sorted(self.peaks.values())


def _cpu_s() -> float:
    times = psutil.Process().cpu_times()
    return times.user + times.system


def _warm() -> None:
    """What every run loads before its first partition: the modules, the division table and
    (for the client) the sample city."""
    import dask_geopandas  # noqa: F401

    import cim.distributed.coverage  # noqa: F401

    divisions()
    if not _CITY:
        _CITY.append(sample_city())
    warnings.simplefilter("ignore", routing.UnreachableNodesWarning)


_CITY = []  # the sample city, loaded once per process by _warm


def _job(kind: str, data: Path, out: Path, client) -> int:
    if kind == "parse":
        run = parse_partitions(data / "addresses", out, client=client)
        if run.failed:
            raise RuntimeError(run.failed[0].error)
        return run.rows
    table = sensor_counts(_CITY[0], data / "sensors", levels=["grid"], client=client)
    return int(table["sensors"].sum())


def _in_process(kind: str, data: Path, out: Path):
    _warm()
    cpu = _cpu_s()
    with _Peak() as peak:
        start = time.perf_counter()
        rows = _job(kind, data, out, None)
        seconds = time.perf_counter() - start
    return seconds, rows, peak.values(), [_cpu_s() - cpu]


def _whole(data: Path, rows: int) -> tuple[int, float, float]:
    """One parse_many call over the first ``rows`` addresses: rows, and the resident MB before
    and after it (its result kept)."""
    texts: list = []
    for path in partition_paths(data / "addresses"):
        texts += pd.read_parquet(path, columns=["address"])["address"].tolist()
        if len(texts) >= rows:
            break
    texts = texts[:rows]
    _warm()
    before = _rss_mb()
    parsed = parse_many(texts)
    return len(parsed), before, _rss_mb()


def _fresh(function, *args):
    """``function(*args)`` in a new process, so that its peak memory is its own."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(function, *args).result()


def run(kind: str, mode: str, data: Path, memory_limit: str):
    """Wall seconds, rows, peak MB and CPU seconds of each process that worked."""
    out = data / f"out-{kind}-{mode.replace(':', '')}"
    shutil.rmtree(out, ignore_errors=True)
    if mode == "in-process":
        return _fresh(_in_process, kind, data, out)
    _warm()
    with connect(mode, memory_limit=memory_limit) as client:
        client.run(_warm)
        cpu = client.run(_cpu_s)
        with _Peak(client) as peak:
            start = time.perf_counter()
            rows = _job(kind, data, out, client)
            seconds = time.perf_counter() - start
        used = [after - cpu[worker] for worker, after in client.run(_cpu_s).items()]
    return seconds, rows, peak.values(), sorted(used)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=10_000_000)
    parser.add_argument("--sensors", type=int, default=10_000_000)
    parser.add_argument("--rows-per-partition", type=int, default=250_000)
    parser.add_argument("--memory-limit", default="2GB", help="per worker")
    parser.add_argument("--whole", type=int, default=1_000_000, help="rows of the whole-table run")
    parser.add_argument("--data", type=Path, help="folder for the data (kept); a temp one if not")
    parser.add_argument("--jobs", default="parse,coverage")
    args = parser.parse_args()
    data = args.data or Path(tempfile.mkdtemp(prefix="cim-scale-"))
    start = time.perf_counter()
    if not (data / "addresses").exists():
        write_scale_data(
            data,
            addresses=args.addresses,
            sensors=args.sensors,
            rows_per_partition=args.rows_per_partition,
            seed=17,
        )
    print(
        f"data: {args.addresses:,} addresses, {args.sensors:,} sensors in partitions of "
        f"{args.rows_per_partition:,} rows ({time.perf_counter() - start:.0f} s) in {data}"
    )
    if args.whole:
        rows, before, after = _fresh(_whole, data, args.whole)
        per_row = (after - before) * 2**20 / rows
        print(
            f"whole-table parse_many in one process, {rows:,} rows: {after:,.0f} MB resident "
            f"(+{after - before:,.0f} MB for its result and caches, {per_row:,.0f} bytes a row: "
            f"~{per_row * args.addresses / 1e9:,.1f} GB for {args.addresses:,} on top of "
            "the texts)"
        )
    jobs = {"parse": ("addresses parsed", args.addresses), "coverage": ("sensors", args.sensors)}
    for kind in args.jobs.split(","):
        what, n = jobs[kind]
        times = {}
        for mode in MODES:
            seconds, rows, peaks, cpu = run(kind, mode, data, args.memory_limit)
            times[mode] = seconds
            speedup = f", {times['local:1'] / seconds:.2f}x local:1" if "local:1" in times else ""
            print(
                f"{kind:<8} {mode:<10} {seconds:7.1f} s  {n / seconds:>9,.0f} rows/s{speedup}  "
                f"peak MB per process {', '.join(f'{p:,.0f}' for p in peaks)}  "
                f"CPU s per process {', '.join(f'{c:,.1f}' for c in cpu)}  ({rows:,} {what})",
                flush=True,
            )


if __name__ == "__main__":
    main()
