"""Address parsing and geocoding over partitioned tables, in-process or on a Dask cluster.

Each partition's output equals what :func:`cim.address.parse_many` or
:meth:`cim.address.AddressBase.geocode` give for its rows, joined beside them as the
``cim address`` commands write it; rows that cannot be read keep their reason in ``error``
(``reason`` for geocoding). The address base is sent to each worker once; each worker reads
the division table (shipped with the package) once, before the first partition.
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import pandas as pd

import layers
from cim.address import AddressBase, parse_many
from cim.address.divisions import divisions
from cim.address.parser import home_code
from cim.distributed.partitions import PartitionedRun, PartitionResult, run_partitions
from cim.tables import join_fields

__all__ = ["geocode_partitions", "parse_partitions"]


def _texts(frame: pd.DataFrame, column: str) -> list:
    if column not in frame.columns:
        raise layers.InputError(
            f"no column {column!r}; the columns are {', '.join(map(str, frame.columns))} "
            "(use --column)"
        )
    return frame[column].tolist()


def _parse(frame: pd.DataFrame, column: str, home: str | None) -> tuple[pd.DataFrame, int]:
    parsed = parse_many(_texts(frame, column), home=home)
    return join_fields(frame, parsed), int(parsed["error"].notna().sum())


def _geocode(frame: pd.DataFrame, base: AddressBase, column: str) -> tuple[pd.DataFrame, int]:
    found = base.geocode(_texts(frame, column))
    joined = join_fields(frame, found.drop(columns="text"))
    return (
        gpd.GeoDataFrame(joined, geometry="geometry", crs=4326),
        int(found["match_level"].eq("none").sum()),
    )


def _load_divisions() -> None:
    divisions()


def _warm(client) -> None:
    if client is not None:
        client.run(_load_divisions)


def parse_partitions(
    source,
    out,
    *,
    column: str = "address",
    home: str | None = None,
    client=None,
    progress: Callable[[PartitionResult], None] | None = None,
) -> PartitionedRun:
    """Parse the ``column`` of every partition of ``source`` into the folder ``out``.

    Parameters
    ----------
    source : path or glob
        A folder of Parquet (or CSV) partitions, a glob, or one file
        (see :func:`cim.distributed.partition_paths`).
    out : path
        Folder for one Parquet file per partition: its rows and the parsed fields
        (``division_code``, ``ambiguous``, ``error`` too), as ``cim address parse`` writes.
    column, home
        The address column; the home context of :func:`cim.address.parse`.
    client : distributed.Client, optional
        Where the partitions run (see :func:`cim.distributed.connect`); here when None.
    progress : callable, optional
        Called with each :class:`PartitionResult` as it finishes.

    Returns
    -------
    PartitionedRun
        Per partition: rows, rows that could not be read (``flagged``), or the reason the
        partition failed.

    Examples
    --------
    >>> import tempfile
    >>> from cim.paths import SAMPLE_DIR
    >>> run = parse_partitions(SAMPLE_DIR / "addresses.parquet", tempfile.mkdtemp())
    >>> run.rows, run.flagged, int(run.read()["road"].notna().sum())
    (68, 16, 48)
    """
    home_code(home)  # a wrong home is the user's mistake, said once, not per partition
    _warm(client)
    return run_partitions(
        _parse, source, out, args=(column, home), client=client, progress=progress
    )


def geocode_partitions(
    source,
    out,
    *,
    base: AddressBase,
    column: str = "address",
    client=None,
    progress: Callable[[PartitionResult], None] | None = None,
) -> PartitionedRun:
    """Geocode the ``column`` of every partition of ``source`` against ``base`` into ``out``.

    As :func:`parse_partitions`, with the columns of :meth:`cim.address.AddressBase.geocode`
    (GeoParquet, points in EPSG:4326); ``flagged`` counts the rows that matched nothing.
    ``base`` is sent to every worker once.

    Examples
    --------
    >>> import tempfile, geopandas as gpd
    >>> from cim.paths import SAMPLE_DIR
    >>> source = SAMPLE_DIR / "addresses.parquet"
    >>> base = AddressBase.from_layer(gpd.read_parquet(source))
    >>> run = geocode_partitions(source, tempfile.mkdtemp(), base=base)
    >>> run.rows, run.flagged
    (68, 0)
    """
    _warm(client)
    return run_partitions(
        _geocode,
        source,
        out,
        args=(column,),
        broadcast=(base,),
        client=client,
        progress=progress,
    )
