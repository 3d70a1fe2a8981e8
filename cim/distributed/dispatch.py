"""Dispatch of very large incident tables (a year of calls) over partitions.

The compiled road graph (:meth:`routing.Router.to_arrays`) and the facilities are sent to
each worker once; there every partition of incidents is dispatched by
:func:`cim.response.dispatch_incidents` with routers rebuilt from those arrays (once per
worker and vehicle), and its routes written as one GeoParquet file. The routes equal those of
one in-process call on the whole table: each incident is routed on its own, whatever else
is in its partition.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow

import layers
import routing
from cim.distributed.partitions import PartitionedRun, PartitionResult, run_partitions
from cim.model import CityModel
from cim.response import dispatch_incidents

__all__ = ["Fleet", "dispatch_partitions"]


class Fleet:
    """What dispatch needs of a city, small enough to send to every worker: the compiled
    roads as arrays and the facilities. It answers ``layer("facilities")`` and
    ``router(profile)`` as a :class:`cim.CityModel` does, building each vehicle's router
    from the arrays once (see :func:`dispatch_partitions`).
    """

    def __init__(self, arrays: dict[str, np.ndarray], facilities: gpd.GeoDataFrame):
        self.arrays = arrays
        self.facilities = facilities
        self._routers: dict[str, routing.Router] = {}

    @classmethod
    def of(cls, city: CityModel) -> Fleet:
        """The fleet of ``city``: its compiled roads and its facilities layer."""
        return cls(city.router("car").to_arrays(), city.layer("facilities"))

    def __getstate__(self) -> dict:
        return {"arrays": self.arrays, "facilities": self.facilities}  # not the routers

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)

    def layer(self, name: str) -> gpd.GeoDataFrame:
        if name != "facilities":
            raise layers.MissingError(f"a dispatch fleet has facilities only, not {name!r}")
        return self.facilities

    def router(self, profile) -> routing.Router:
        name = routing.get_profile(profile).name
        if name not in self._routers:
            self._routers[name] = routing.Router.from_arrays(
                self.arrays, _no_graph, profile=profile
            )
        return self._routers[name]


def _no_graph():
    raise layers.MissingError("a dispatch fleet carries the compiled roads, not the graph")


def read_incidents(path: Path) -> gpd.GeoDataFrame:
    """A GeoParquet partition of incidents, checked as an ``incidents`` layer."""
    try:
        frame = gpd.read_parquet(path)
    except (ValueError, OSError, pyarrow.ArrowException) as err:
        raise layers.InputError(f"{path}: not a readable GeoParquet partition ({err})") from None
    return layers.validate(frame, "incidents")


def _dispatch(incidents: gpd.GeoDataFrame, fleet: Fleet, options: dict):
    routes = dispatch_incidents(fleet, incidents, **options)
    return routes, int(routing.first_units(routes)["eta_s"].isna().sum())


def dispatch_partitions(
    city: CityModel,
    incidents,
    out,
    *,
    k: int = 1,
    objective: str = "time",
    response: dict[str, str] | None = None,
    closures: gpd.GeoDataFrame | None = None,
    max_snap_m: float = routing.SNAP_LIMIT_M,
    client=None,
    progress: Callable[[PartitionResult], None] | None = None,
) -> PartitionedRun:
    """Dispatch every partition of ``incidents`` from ``city``'s facilities into ``out``.

    Parameters
    ----------
    city : CityModel
        Needs ``roads`` and ``facilities``.
    incidents : path or glob
        GeoParquet partitions of an ``incidents`` layer (``id, kind, priority``, points).
    out : path
        Folder for one GeoParquet file of routes per partition, with the columns of
        :func:`cim.response.dispatch_incidents`.
    k, objective, response, closures, max_snap_m
        As in :func:`cim.response.dispatch_incidents`.
    client : distributed.Client, optional
        Where the partitions run; here when None.
    progress : callable, optional
        Called with each partition's result; ``flagged`` counts its incidents with no route
        (each has its row and the reason).

    Examples
    --------
    >>> import tempfile, cim
    >>> from cim.paths import SAMPLE_DIR
    >>> run = dispatch_partitions(cim.sample_city(), SAMPLE_DIR / "incidents.parquet", tempfile.mkdtemp())
    >>> run.rows, run.flagged
    (60, 5)
    """
    options = {
        "k": k,
        "objective": objective,
        "response": response,
        "closures": closures,
        "max_snap_m": max_snap_m,
    }
    return run_partitions(
        _dispatch,
        incidents,
        out,
        args=(options,),
        broadcast=(Fleet.of(city),),
        read=read_incidents,
        client=client,
        progress=progress,
    )
