"""Partitioned tables in and out: each partition read, worked on and written by one task.

A partitioned input is a folder of Parquet / GeoParquet (or CSV) files, a glob, or one file;
the output is a folder holding one file per input partition, named after it
(``calls/2024-01.parquet`` → ``out/2024-01.parquet``), each written atomically. Nothing but a
few counts per partition comes back to the client, so no table is ever collected whole.
A partition that cannot be read is reported with its path and the others carry on.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

import layers
from cim.atomic import remove_leftovers
from cim.tables import read_table, write_table

__all__ = ["PartitionResult", "PartitionedRun", "partition_paths", "run_partitions"]

_SUFFIXES = (".parquet", ".csv")


@dataclass(frozen=True)
class PartitionResult:
    """What one partition gave: rows written, rows flagged (with an error or no match), or
    why the partition failed (``error``; then nothing was written for it)."""

    source: str
    output: str | None
    rows: int = 0
    flagged: int = 0
    error: str | None = None


@dataclass
class PartitionedRun:
    """The partitions of one job, in the order of their sources."""

    out: Path
    partitions: list[PartitionResult] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.partitions)

    @property
    def flagged(self) -> int:
        return sum(p.flagged for p in self.partitions)

    @property
    def failed(self) -> list[PartitionResult]:
        return [p for p in self.partitions if p.error is not None]

    def outputs(self) -> list[Path]:
        """The files written, in the order of their sources."""
        return [Path(p.output) for p in self.partitions if p.output is not None]

    def read(self) -> pd.DataFrame:
        """Every output partition in one frame (for small jobs and tests: this collects)."""
        return pd.concat([pd.read_parquet(p) for p in self.outputs()], ignore_index=True)


def partition_paths(source) -> list[Path]:
    """The partitions of ``source``: a folder's .parquet (else .csv) files, a glob's matches,
    or the one file, sorted by name; or a list of files, as it is.

    Raises
    ------
    layers.InputError
        When nothing matches.

    Examples
    --------
    >>> from cim.paths import SAMPLE_DIR
    >>> [p.name for p in partition_paths(SAMPLE_DIR / "s*.parquet")]
    ['sensors.parquet', 'streets.parquet']
    """
    if isinstance(source, list | tuple):
        return [q for p in source for q in partition_paths(p)]
    text = str(source)
    path = Path(text)
    if path.is_dir():
        found = []
        for suffix in _SUFFIXES:
            found = sorted(p for p in path.glob(f"*{suffix}") if not p.name.startswith("."))
            if found:
                break
        what = f"folder {path} has no .parquet or .csv partitions"
    elif path.exists():  # a file named like a glob (a[1].csv) is that file
        found, what = [path], ""
    elif glob.has_magic(text):
        found = sorted(Path(p) for p in glob.glob(text) if Path(p).suffix.lower() in _SUFFIXES)
        what = f"no .parquet or .csv file matches {text}"
    else:
        raise FileNotFoundError(f"no such file or folder: {path}")
    if not found:
        raise layers.InputError(what)
    return found


def _output(source: Path, out: Path) -> Path:
    return out / f"{source.stem}.parquet"


def read_partition(path: Path) -> pd.DataFrame:
    """A partition as :func:`cim.tables.read_table` reads it, rows numbered from 0."""
    return read_table(path).reset_index(drop=True)


def _one(work, source: Path, target: Path, args: tuple, read) -> PartitionResult:
    """Read, work on and write one partition (runs on a worker, or here in-process)."""
    try:
        frame = read(source)
        result, flagged = work(frame, *args)
        write_table(result, target)
    except (layers.CimError, OSError) as err:
        message = str(err)
        if str(source) not in message:
            message = f"{source}: {message}"
        return PartitionResult(str(source), None, error=message)
    return PartitionResult(str(source), str(target), len(result), flagged)


def run_partitions(
    work: Callable[..., tuple[pd.DataFrame, int]],
    source,
    out,
    *,
    args: Sequence = (),
    client=None,
    broadcast: Sequence = (),
    read: Callable[[Path], pd.DataFrame] = read_partition,
    progress: Callable[[PartitionResult], None] | None = None,
) -> PartitionedRun:
    """Run ``work(frame, *broadcast, *args)`` on every partition of ``source`` into ``out``.

    ``work`` returns the partition's output frame and how many of its rows are flagged; it
    must be importable by the workers (a module-level function). The objects in
    ``broadcast`` are sent to every worker once (:meth:`distributed.Client.scatter`), not
    with each task. With ``client`` None the partitions run here, one after another.
    ``progress`` is called with each partition's result as it finishes.

    A partition that cannot be read or worked on (a corrupt file, a missing column) gives
    a result with ``error`` naming its path, and no output file; the others are written.
    ``out`` must be empty or hold only this job's partitions (a rerun replaces them), so
    that no file of another job is read with its output.
    A task whose worker dies is run again elsewhere by Dask; if workers keep dying on it,
    the partition fails with the reason and, again, no file for it. The half-written
    files of killed workers are removed at the end.

    Examples
    --------
    >>> import tempfile
    >>> from cim.paths import SAMPLE_DIR
    >>> def count(frame):
    ...     return frame[["id"]], 0
    >>> run = run_partitions(count, SAMPLE_DIR / "incidents.parquet", tempfile.mkdtemp())
    >>> run.rows, [p.name for p in run.outputs()]
    (60, ['incidents.parquet'])
    """
    sources = partition_paths(source)
    out = Path(out)
    if out.suffix.lower() in _SUFFIXES or (out.exists() and not out.is_dir()):
        raise layers.InputError(
            f"{out}: the output of a partitioned job is a folder (one file per partition)"
        )
    targets = [_output(s, out) for s in sources]
    if len(set(targets)) < len(targets):
        raise layers.InputError(f"{source}: two partitions have the same name")
    others = sorted(set(out.glob("*.parquet")) - set(targets)) if out.is_dir() else []
    if others:
        raise layers.InputError(
            f"{out} holds {others[0].name}, which is not one of this job's partitions: give "
            "an empty folder (or the one an earlier run of the same job wrote)"
        )
    out.mkdir(parents=True, exist_ok=True)
    run = PartitionedRun(out)
    if client is None:
        for s, t in zip(sources, targets, strict=True):
            result = _one(work, s, t, (*broadcast, *args), read)
            run.partitions.append(result)
            if progress:
                progress(result)
        return run
    from distributed import as_completed

    shared = [client.scatter(obj, broadcast=True, hash=False) for obj in broadcast]
    futures = {
        client.submit(_one, work, s, t, (*shared, *args), read, pure=False): s
        for s, t in zip(sources, targets, strict=True)
    }
    done: dict[Path, PartitionResult] = {}
    for future in as_completed(futures):
        s = futures[future]
        if future.status == "error":
            err = future.exception()
            name = type(err).__name__
            if name != "KilledWorker":  # a bug, not the data or the cluster: show it
                raise err
            done[s] = PartitionResult(
                str(s), None, error=f"{s}: workers kept dying while on it ({err}); not written"
            )
        else:
            done[s] = future.result()
        if progress:
            progress(done[s])
    run.partitions = [done[s] for s in sources]
    for t in targets:  # what a worker killed mid-write left
        remove_leftovers(t)
    return run
