"""Travel times and routes between the places of a simulation, from the city's Router.

Places are the fleet's stations and hospitals followed by the incidents, by position. A
travel time comes from :meth:`routing.Router.cost_rows` under the network state of the hour
the trip starts in (:class:`~cim.simulation.network.NetworkStates`): per state and profile,
the profile's places (its stations, the hospitals its patients go to, its incidents: where
its units can be) are joined to the roads once, and the times from one of them to all cost
one search the first time a unit sets off from there, and are kept. Route lines
(:meth:`Travel.paths`) come from :meth:`routing.Router.routes`, all the trips of a network
state at once.
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import routing
from cim.simulation.network import NetworkStates

__all__ = ["Travel"]


class Travel:
    """Travel seconds between places, per profile and simulated hour, cached.

    Parameters
    ----------
    states : NetworkStates
        The router of each profile and hour.
    places : GeoDataFrame
        Points (EPSG:4326), one per place.
    anchors : dict
        Profile → positions of its fixed places (stations, hospitals).
    calls : DataFrame
        ``place`` and ``profile`` (None for a call no unit serves) of each incident: the
        incidents are the targets of their profile.
    coverage : dict, optional
        Where :meth:`coverage` keeps its times: a study's replications share one (their
        anchors and demand are the same, only the calls change).
    """

    def __init__(
        self,
        states: NetworkStates,
        places: gpd.GeoDataFrame,
        anchors: dict[str, np.ndarray],
        calls: pd.DataFrame,
        *,
        coverage: dict[tuple, np.ndarray] | None = None,
    ):
        self.states = states
        self.points = gpd.GeoSeries(places.geometry.values, crs=4326)
        self.anchors = anchors
        self._targets, self._column = {}, {}
        for name in set(anchors) | set(calls["profile"].dropna()):
            served = calls.loc[calls["profile"] == name, "place"].to_numpy(dtype=int)
            targets = np.unique(np.concatenate([anchors.get(name, []), served])).astype(int)
            column = np.full(len(self.points), -1)
            column[targets] = np.arange(len(targets))
            self._targets[name], self._column[name] = targets, column
        self._rows: dict[tuple, routing.CostRows] = {}
        self._coverage = {} if coverage is None else coverage
        self._path_ids: dict[tuple, int] = {}
        self._why: dict[tuple, str] = {}
        self.trips: list[tuple] = []

    def times(
        self, profile: str, slot: int, sources: Iterable[int], targets: Iterable[int]
    ) -> np.ndarray:
        """Seconds from each source to each target place (inf where no route), as a
        ``sources x targets`` array, for a trip of ``profile`` starting in hour ``slot``.

        Sources and targets are the profile's places: its stations, the hospitals its
        patients go to, its incidents (where its units can be)."""
        key = self.states.key(profile, slot)
        rows = self._rows.get(key)
        if rows is None:
            places = self.points.iloc[self._targets[profile]]
            rows = self._rows[key] = self.states.router(key).cost_rows(places, places)
        column = self._column[profile]
        found = rows.rows(column[np.asarray(sources, dtype=int)])
        return found[:, column[np.asarray(targets, dtype=int)]]

    def coverage(self, profile: str, slot: int, demand: gpd.GeoSeries) -> np.ndarray:
        """Seconds from each of ``profile``'s anchors (its stations first) to each demand point."""
        key = self.states.key(profile, slot)
        if key not in self._coverage:
            anchors = self.anchors[profile]
            self._coverage[key] = (
                self.states.router(key).cost_matrix(self.points.iloc[anchors], demand).values
            )
        return self._coverage[key]

    def why_unreachable(self, key: tuple, targets, stations) -> list[str]:
        """Why no station reaches each target in the network ``key`` (the Router's reason;
        kept, since every policy of a replication asks about the same calls)."""
        ask = [t for t in dict.fromkeys(map(int, targets)) if (key, t) not in self._why]
        if ask:
            found = self._dispatch(self.states.router(key), ask, stations[:1])
            first = found.drop_duplicates("incident_id").set_index("incident_id")["reason"]
            self._why.update({(key, t): str(first.get(t) or "no route") for t in ask})
        return [self._why[key, int(t)] for t in targets]

    def path_id(self, profile: str, slot: int, source: int, target: int, seconds: float) -> int:
        """The id of the route from ``source`` to ``target`` in that hour's network (the same
        route keeps its id), remembered for :meth:`paths`."""
        trip = (self.states.key(profile, slot), int(source), int(target))
        if trip not in self._path_ids:
            self._path_ids[trip] = len(self._path_ids)
            self.trips.append((*trip, float(seconds)))
        return self._path_ids[trip]

    def paths(self, ids: Iterable[int] | None = None, *, offset: int = 0) -> gpd.GeoDataFrame:
        """Route lines of the trips (all, or those with the given ids).

        The trips of each network state are drawn together (:meth:`routing.Router.routes`).

        Returns
        -------
        GeoDataFrame
            Indexed by ``path_id`` (+ ``offset``): ``geometry`` (LineString, EPSG:4326) and
            ``times_s``, seconds from departure at each vertex, spread along the line in
            proportion to distance (the last is the travel time).
        """
        wanted = set(range(len(self.trips)) if ids is None else ids)
        trips = pd.DataFrame(self.trips, columns=["key", "source", "target", "seconds"])
        trips = trips.iloc[sorted(wanted)].assign(path_id=sorted(wanted))
        lines: dict[int, shapely.LineString] = {}
        for key, group in trips.groupby("key", sort=False):
            sources, source_at = np.unique(group["source"], return_inverse=True)
            targets, target_at = np.unique(group["target"], return_inverse=True)
            found = self.states.router(key).routes(
                self.points.iloc[sources],
                self.points.iloc[targets],
                np.column_stack([source_at.ravel(), target_at.ravel()]),
            )
            lines.update(zip(group["path_id"], found.geometry.values, strict=True))
        ordered = trips["path_id"].to_numpy()
        geometry = [lines.get(i) for i in ordered]
        for n, (line, row) in enumerate(zip(geometry, trips.itertuples(), strict=True)):
            if line is None or line.is_empty:
                a, b = self.points.iat[row.source], self.points.iat[row.target]
                geometry[n] = shapely.LineString([a, b] if a != b else [a, a])
        frame = gpd.GeoDataFrame(
            {"times_s": None},
            index=pd.Index(ordered + offset, name="path_id"),
            geometry=geometry,
            crs=4326,
        )
        frame["times_s"] = _vertex_times(
            frame.geometry, trips["seconds"].to_numpy(), self.states.city.metric_crs
        )
        return frame

    def _dispatch(self, router, targets, sources) -> pd.DataFrame:
        incidents = gpd.GeoDataFrame(
            {"id": np.asarray(targets, dtype=int)},
            geometry=self.points.iloc[list(targets)].values,
            crs=4326,
        )
        resources = gpd.GeoDataFrame(
            {"id": np.asarray(sources, dtype=int)},
            geometry=self.points.iloc[list(sources)].values,
            crs=4326,
        )
        return router.dispatch(incidents, resources, k=len(resources), geometry=False)


def _vertex_times(lines: gpd.GeoSeries, seconds: np.ndarray, crs) -> list[list[float]]:
    metric = lines.to_crs(crs)
    out = []
    for line, total in zip(metric.values, seconds, strict=True):
        xy = shapely.get_coordinates(line)
        run = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
        share = run / run[-1] if run[-1] > 0 else np.linspace(0, 1, len(run))
        out.append((share * (total if np.isfinite(total) else 0.0)).tolist())
    return out
