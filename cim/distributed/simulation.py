"""Simulation replications mapped over workers.

A study's replications are independent given their seeds (replication ``r`` uses seed
``seed + r``), so each runs as one task: :func:`cim.simulation.compare` with one replication
on the city sent to every worker once. The logs, trips and per-replication indicators come
back and are put together as one study, with the same confidence intervals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import geopandas as gpd
import pandas as pd

from cim.model import CityModel
from cim.simulation import SimulationError, SimulationResult, compare
from cim.simulation.kpis import summarise

__all__ = ["replicate"]


def _one(city: CityModel, policies: tuple, seed: int, paths: str, options: dict):
    return compare(city, policies=policies, replications=1, seed=seed, paths=paths, **options)


def _numbered(frame: pd.DataFrame, r: int, offset: int) -> pd.DataFrame:
    frame = frame.assign(replication=r)
    frame["path_id"] = frame["path_id"].where(frame["path_id"] < 0, frame["path_id"] + offset)
    return frame


def replicate(
    city: CityModel,
    *,
    policies: Sequence = ("nearest",),
    replications: int = 20,
    seed: int = 0,
    paths: str = "first",
    client=None,
    progress: Callable[[int], None] | None = None,
    **options,
) -> SimulationResult:
    """:func:`cim.simulation.compare` with its replications run as tasks, here or on a cluster.

    Parameters
    ----------
    city : CityModel
        Sent to every worker once.
    policies, replications, seed, paths, **options
        As in :func:`cim.simulation.compare` (``hours``, ``rain``, ``incidents`` …).
    client : distributed.Client, optional
        Where the replications run; one after another here when None.
    progress : callable, optional
        Called with 1 as each replication finishes.

    Returns
    -------
    SimulationResult
        As :func:`cim.simulation.compare` gives for the same seeds: the same log (but for
        ``path_id``, numbered replication by replication here), trips and indicators.

    Examples
    --------
    >>> import cim
    >>> study = replicate(cim.sample_city(), replications=2, hours=1, incidents_per_day=120)
    >>> study.seeds, study.log["replication"].unique().tolist()
    ((0, 1), [0, 1])
    """
    if int(replications) < 1:
        raise SimulationError(f"replications must be at least 1, not {replications!r}")
    policies = tuple(policies)
    runs = [
        (seed + r, paths if paths != "first" else ("first" if r == 0 else "none"))
        for r in range(int(replications))
    ]
    if client is None:
        results = []
        for s, drawn in runs:
            results.append(_one(city, policies, s, drawn, options))
            if progress:
                progress(1)
    else:
        from distributed import as_completed

        shared = client.scatter(city, broadcast=True, hash=False)
        futures = [
            client.submit(_one, shared, policies, s, p, options, pure=False) for s, p in runs
        ]
        for future in as_completed(futures):
            future.result()
            if progress:
                progress(1)
        results = client.gather(futures)
    return _together(results)


def _together(results: list[SimulationResult]) -> SimulationResult:
    """One study from single-replication results, replication ``r`` the ``r``-th."""
    logs, moves, routes, per_rep, offset = [], [], [], [], 0
    for r, result in enumerate(results):
        logs.append(_numbered(result.log, r, offset))
        moves.append(_numbered(result.moves, r, offset))
        if len(result.paths):
            routes.append(result.paths.set_axis(result.paths.index + offset))  # by path_id
        ids = pd.concat([result.log["path_id"], result.moves["path_id"]])
        offset += int(ids.max()) + 1 if len(ids) and ids.max() >= 0 else 0
        kpis = result.kpis.rename(columns={"mean": "value"})
        per_rep.append(kpis[["policy", "metric", "group", "value"]].assign(replication=r))
    first = results[0]
    paths = pd.concat(routes) if routes else first.paths
    return SimulationResult(
        log=pd.concat(logs, ignore_index=True),
        moves=pd.concat(moves, ignore_index=True),
        paths=gpd.GeoDataFrame(paths, geometry="geometry", crs=4326),
        kpis=summarise(pd.concat(per_rep, ignore_index=True)),
        rain=first.rain,
        closures_by_hour=first.closures_by_hour,
        policies=first.policies,
        seeds=tuple(s for result in results for s in result.seeds),
        hours=first.hours,
        start_hour=first.start_hour,
    )
