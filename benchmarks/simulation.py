"""A simulated storm day: our engine's time per replication against a networkx call per trip.

On the embedded Chengdu sample (2,910 nodes, 7,105 directed edges), one day of about 2,000
generated incidents with the synthetic storm (``sample_data/storm_hyetograph_synthetic.csv``:
ponding hour by hour, roads closed per vehicle and hour), policy ``nearest``:

- ours: :func:`cim.simulation.simulate` for one replication (``paths="none"``: no route lines
  drawn), timed on two seeds. The first run also builds the storm's network states (the
  ponding of each wet hour, cached for the same DEM and rain), so both are printed;
- naive: one ``networkx.shortest_path_length`` per trip, weighted by ``travel_time``, on the
  graph without the storm (closures only remove edges, so this is if anything faster than
  the storm's graphs). It is timed on a random subsample of our run's station-to-scene
  trips (the graph nodes nearest the station and the scene) and extrapolated to every trip
  of the day (to the scene, to hospital, back, move-up). A naive dispatcher would also
  search from every free candidate unit for each call; this counts only the one search per
  trip taken, so the ratio is a lower bound.

Run: ``.venv/bin/python benchmarks/simulation.py [--incidents 2000] [--sample 200]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import networkx as nx
import numpy as np
import osmnx as ox

import cim
import routing
from cim.paths import SAMPLE_STORM
from cim.simulation import simulate


def ours(city: cim.CityModel, incidents: int, seed: int):
    start = time.perf_counter()
    result = simulate(
        city,
        hours=24,
        policy="nearest",
        rain=SAMPLE_STORM,
        incidents_per_day=incidents,
        seed=seed,
        paths="none",
    )
    return time.perf_counter() - start, result


def station_to_scene(city: cim.CityModel, result) -> np.ndarray:
    """Graph nodes of the station and the scene of every incident reached: the trips timed."""
    reached = result.log[result.log["reached"]]
    stations = city.layer("facilities").set_index("id").geometry
    home = stations.loc[reached["station_id"]]
    sources = ox.distance.nearest_nodes(city.graph, home.x.to_numpy(), home.y.to_numpy())
    targets = ox.distance.nearest_nodes(
        city.graph, reached["lon"].to_numpy(), reached["lat"].to_numpy()
    )
    return np.column_stack([sources, targets])


def naive(graph: nx.MultiDiGraph, pairs: np.ndarray) -> tuple[float, int]:
    start = time.perf_counter()
    found = 0
    for source, target in pairs:
        try:
            nx.shortest_path_length(graph, source, target, weight="travel_time")
            found += 1
        except nx.NetworkXNoPath:
            pass
    return time.perf_counter() - start, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=2000, help="calls a day")
    parser.add_argument("--sample", type=int, default=200, help="trips timed with networkx")
    args = parser.parse_args()
    warnings.simplefilter("ignore", routing.UnreachableNodesWarning)
    city = cim.sample_city()
    graph = city.graph
    print(f"sample city: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges")
    runs = [ours(city, args.incidents, seed) for seed in (0, 1)]
    (first, result), (second, _) = runs
    trips = len(result.moves)
    print(
        f"ours: {len(result.log)} incidents, {trips} trips; one replication "
        f"{first:.1f} s (first, building the storm's network states), {second:.1f} s (second)"
    )
    pairs = station_to_scene(city, result)
    rng = np.random.default_rng(0)
    sample = pairs[rng.choice(len(pairs), size=min(args.sample, len(pairs)), replace=False)]
    spent, found = naive(graph, sample)
    per_trip = spent / len(sample)
    extrapolated = per_trip * trips
    print(
        f"naive: networkx shortest_path_length {per_trip * 1000:.1f} ms a trip on {len(sample)} "
        f"trips ({found} with a path) → {extrapolated:.1f} s for the day's {trips} trips"
    )
    print(
        f"ratio naive / ours: {extrapolated / first:.1f}× (first run), "
        f"{extrapolated / second:.1f}× (second run)"
    )


if __name__ == "__main__":
    main()
