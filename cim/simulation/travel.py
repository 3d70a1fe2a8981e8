"""Travel times and routes between the places of a simulation, from the city's Router.

Places are the fleet's stations and hospitals followed by the incidents, by position. A
travel time is asked of :meth:`routing.Router.cost_matrix` under the network state of the
hour the trip starts in (:class:`~cim.simulation.network.NetworkStates`) and kept per
(source, target, state). A decision that meets a source not yet known asks, in one batch,
for the times from it to every target of the profile (its stations, the hospitals its
patients go to, its incidents); the same batch also fetches from the stations and
from the incidents called within six hours either side, where units will be. Route lines (:meth:`paths`) come from :meth:`routing.Router.dispatch`.
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cim.simulation.network import NetworkStates

__all__ = ["Travel"]

_CHUNK = 25  # lone trips drawn together: a dispatch of 25 sources to 25 targets draws 625 lines
_WINDOW_H = 6  # a miss also fetches from the incidents called this many hours either side


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
        ``place``, ``profile`` (None for a call no unit serves) and ``call_s`` of each
        incident, for prefetching.
    """

    def __init__(
        self,
        states: NetworkStates,
        places: gpd.GeoDataFrame,
        anchors: dict[str, np.ndarray],
        calls: pd.DataFrame,
    ):
        self.states = states
        self.points = gpd.GeoSeries(places.geometry.values, crs=4326)
        self.anchors = anchors
        self._targets, self._column = {}, {}
        self.retime(calls)
        for name in self._calls:
            targets = np.unique(np.concatenate([anchors.get(name, []), self._calls[name][1]]))
            column = np.full(len(self.points), -1)
            column[targets.astype(int)] = np.arange(len(targets))
            self._targets[name], self._column[name] = targets.astype(int), column
        self._rows: dict[tuple, dict[int, np.ndarray]] = {}
        self._coverage: dict[tuple, np.ndarray] = {}
        self.queries = 0
        self._path_ids: dict[tuple, int] = {}
        self.trips: list[tuple] = []

    def retime(self, calls: pd.DataFrame) -> None:
        """Take the call times of another stream over the same places (for prefetching)."""
        self._calls = {
            name: (
                calls.loc[calls["profile"] == name, "call_s"].to_numpy(),
                calls.loc[calls["profile"] == name, "place"].to_numpy(dtype=int),
            )
            for name in set(self.anchors) | set(calls["profile"].dropna())
        }

    def _window(self, profile: str, slot: int) -> np.ndarray:
        call_s, place = self._calls[profile]
        near = (call_s >= (slot - _WINDOW_H) * 3600) & (call_s < (slot + _WINDOW_H) * 3600)
        return place[near]

    def times(
        self, profile: str, slot: int, sources: Iterable[int], targets: Iterable[int]
    ) -> np.ndarray:
        """Seconds from each source to each target place (inf where no route), as a
        ``sources x targets`` array, for a trip of ``profile`` starting in hour ``slot``.

        Targets are the profile's stations, hospitals and incidents; sources any place."""
        key = self.states.key(profile, slot)
        rows = self._rows.setdefault(key, {})
        if len(sources) == 1 and sources[0] in rows:  # the common case, kept short
            return rows[sources[0]][self._column[profile][targets]][None, :]
        sources = np.asarray(sources, dtype=int).ravel()
        columns = self._column[profile][np.asarray(targets, dtype=int).ravel()]
        missing = [s for s in set(sources.tolist()) if s not in rows]
        if missing:
            self._fetch(key, profile, slot, np.array(sorted(missing), dtype=int))
        if len(sources) == 0:
            return np.zeros((0, len(columns)))
        return np.array([rows[s][columns] for s in sources.tolist()])

    def _fetch(self, key, profile: str, slot: int, sources: np.ndarray) -> None:
        """One batch, to every target of the profile, from the missing sources and from those
        the next decisions will want that are not known yet."""
        rows = self._rows[key]
        ahead = np.concatenate([self.anchors.get(profile, []), self._window(profile, slot)])
        sources = np.concatenate([sources, [p for p in ahead.astype(int) if p not in rows]])
        sources = np.unique(sources.astype(int))
        targets = self._targets[profile]
        matrix = self.states.router(key).cost_matrix(
            self.points.iloc[sources], self.points.iloc[targets]
        )
        self.queries += 1
        rows.update(zip(sources.tolist(), matrix.values, strict=True))

    def coverage(self, profile: str, slot: int, demand: gpd.GeoSeries) -> np.ndarray:
        """Seconds from each of ``profile``'s anchors (its stations first) to each demand point."""
        key = self.states.key(profile, slot)
        if key not in self._coverage:
            anchors = self.anchors[profile]
            self._coverage[key] = (
                self.states.router(key).cost_matrix(self.points.iloc[anchors], demand).values
            )
            self.queries += 1
        return self._coverage[key]

    def why_unreachable(self, key: tuple, targets, stations) -> list[str]:
        """Why no station reaches each target in the network ``key`` (the Router's reason)."""
        found = self._dispatch(self.states.router(key), targets, stations[:1], geometry=False)
        first = found.drop_duplicates("incident_id").set_index("incident_id")["reason"]
        return [str(first.get(int(t)) or "no route") for t in targets]

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

        Routes that share a target (returns to a station, carries to a hospital) are drawn
        together by one dispatch to that target, routes that share a source (calls answered
        from a station) by one dispatch from it, and the rest in chunks of sources x targets.

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
            router = self.states.router(key)
            shared_target = group["target"].map(group["target"].value_counts()) > 1
            for target, by_target in group[shared_target].groupby("target"):
                found = self._dispatch(router, [target], by_target["source"].unique())
                lines.update(self._match(by_target, found))
            rest = group[~shared_target]
            shared_source = rest["source"].map(rest["source"].value_counts()) > 1
            for source, by_source in rest[shared_source].groupby("source"):
                found = self._dispatch(router, by_source["target"].unique(), [source])
                lines.update(self._match(by_source, found))
            single = rest[~shared_source]
            for start in range(0, len(single), _CHUNK):
                chunk = single.iloc[start : start + _CHUNK]
                found = self._dispatch(router, chunk["target"].unique(), chunk["source"].unique())
                lines.update(self._match(chunk, found))
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

    def _dispatch(self, router, targets, sources, *, geometry: bool = True) -> pd.DataFrame:
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
        self.queries += 1
        return router.dispatch(incidents, resources, k=len(resources), geometry=geometry)

    @staticmethod
    def _match(trips: pd.DataFrame, found: pd.DataFrame) -> dict[int, shapely.LineString]:
        by_pair = {
            (int(r), int(i)): g
            for r, i, g in zip(
                found["resource_id"].fillna(-1), found["incident_id"], found.geometry, strict=True
            )
        }
        return {row.path_id: by_pair.get((row.source, row.target)) for row in trips.itertuples()}


def _vertex_times(lines: gpd.GeoSeries, seconds: np.ndarray, crs) -> list[list[float]]:
    metric = lines.to_crs(crs)
    out = []
    for line, total in zip(metric.values, seconds, strict=True):
        xy = shapely.get_coordinates(line)
        run = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
        share = run / run[-1] if run[-1] > 0 else np.linspace(0, 1, len(run))
        out.append((share * (total if np.isfinite(total) else 0.0)).tolist())
    return out
