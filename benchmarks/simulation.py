"""A simulated storm day: our engine's time per replication against a networkx call per trip.

On the embedded Chengdu sample (2,910 nodes, 7,105 directed edges), one day of about 2,000
generated incidents with the synthetic storm (``sample_data/storm_hyetograph_synthetic.csv``:
ponding hour by hour, roads closed per vehicle and hour), policy ``nearest``:

- ours: :func:`cim.simulation.simulate` for one replication, timed on two seeds: the first
  run also builds the storm's network states (the ponding, the roads it closes, a router per
  state), so it is printed apart; the second reuses the ponding. Each run is timed without
  route lines (``paths="none"``) and with the lines of its trips (``paths="first"``);
- naive: the same storm handled the plain way: for every network state (profile, hour of day,
  flooded roads closed to that profile) a copy of the networkx graph without the edges the
  flooded roads touch, then one ``networkx.shortest_path_length`` per trip on its state's
  graph, weighted by ``travel_time``. It is timed on a random subsample of our run's
  station-to-scene trips (the graph nodes nearest the station and the scene) and
  extrapolated to every trip of the day (to the scene, to hospital, back, move-up). A naive
  dispatcher would also search from every free candidate unit for each call; this counts
  only the one search per trip taken, so the ratio is a lower bound.

Run: ``.venv/bin/python benchmarks/simulation.py [--incidents 2000] [--sample 200]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import shapely

import cim
import routing
from cim.paths import SAMPLE_STORM
from cim.simulation import simulate
from cim.simulation.network import NetworkStates
from routing.closures import FLOODED_REACH_M


def ours(city: cim.CityModel, incidents: int, seed: int, paths: str):
    start = time.perf_counter()
    result = simulate(
        city,
        hours=24,
        policy="nearest",
        rain=SAMPLE_STORM,
        incidents_per_day=incidents,
        seed=seed,
        paths=paths,
    )
    return time.perf_counter() - start, result


def naive_states(city: cim.CityModel, profiles) -> tuple[float, dict]:
    """Per (profile, slot): the graph of that hour's state, networkx-style (a copy without
    the edges within reach of the roads flooded beyond the profile's depth)."""
    states = NetworkStates(city, profiles, hours=24, rain=SAMPLE_STORM)  # the closures: not timed
    start = time.perf_counter()
    graph = city.graph
    edges = list(graph.edges(keys=True, data=True))
    lines = [
        d["geometry"]
        if d.get("geometry") is not None
        else shapely.LineString([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in (u, v)])
        for u, v, _, d in edges
    ]
    metric = city.metric_crs
    tree = shapely.STRtree(gpd.GeoSeries(lines, crs=4326).to_crs(metric).values)
    graphs, by_state = {}, {}
    for profile in profiles:
        for slot in range(24):
            key = states.key(profile, slot)
            if key not in graphs:
                barriers = states.barriers(slot)
                shut = (
                    barriers[[profile in names for names in barriers["closed_for"]]]
                    if len(barriers)
                    else barriers
                )
                state = graph.copy()
                if len(shut):
                    reach = shut.to_crs(metric).buffer(FLOODED_REACH_M).values
                    hit = np.unique(tree.query(reach, predicate="intersects")[1])
                    state.remove_edges_from([edges[i][:3] for i in hit])
                graphs[key] = state
            by_state[profile, slot] = graphs[key]
    return time.perf_counter() - start, by_state


def station_to_scene(city: cim.CityModel, result) -> np.ndarray:
    """Graph nodes of the station and the scene of every incident reached, with the profile
    and hour of the trip: the trips timed."""
    reached = result.log[result.log["reached"]]
    stations = city.layer("facilities").set_index("id").geometry
    home = stations.loc[reached["station_id"]]
    sources = ox.distance.nearest_nodes(city.graph, home.x.to_numpy(), home.y.to_numpy())
    targets = ox.distance.nearest_nodes(
        city.graph, reached["lon"].to_numpy(), reached["lat"].to_numpy()
    )
    profile = reached["unit_id"].str.extract(r"#([a-z_]+?)\d+$")[0].to_numpy()
    slot = (reached["dispatch_s"] // 3600).astype(int).clip(0, 23).to_numpy()
    return np.column_stack([sources, targets, profile, slot])


def naive(by_state: dict, trips: np.ndarray) -> tuple[float, int]:
    start = time.perf_counter()
    found = 0
    for source, target, profile, slot in trips:
        try:
            nx.shortest_path_length(
                by_state[profile, int(slot)], source, target, weight="travel_time"
            )
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
    first, result = ours(city, args.incidents, 0, "none")
    second, _ = ours(city, args.incidents, 1, "none")
    lined, _ = ours(city, args.incidents, 1, "first")
    trips = len(result.moves)
    print(
        f"ours: {len(result.log)} incidents, {trips} trips; one replication {first:.1f} s "
        f"(first, building the storm's network states), {second:.1f} s (second); "
        f"{lined:.1f} s with its route lines drawn"
    )
    profiles = sorted(result.closures_by_hour["profile"].unique())
    setup, by_state = naive_states(city, profiles)
    pairs = station_to_scene(city, result)
    rng = np.random.default_rng(0)
    sample = pairs[rng.choice(len(pairs), size=min(args.sample, len(pairs)), replace=False)]
    spent, found = naive(by_state, sample)
    per_trip = spent / len(sample)
    extrapolated = per_trip * trips
    print(
        f"naive: the storm's state graphs {setup:.1f} s; networkx shortest_path_length "
        f"{per_trip * 1000:.1f} ms a trip on {len(sample)} trips ({found} with a path) → "
        f"{extrapolated:.1f} s for the day's {trips} trips"
    )
    print(
        f"ratio naive / ours: {(setup + extrapolated) / first:.1f}× (first runs, with the "
        f"storm's setup), {extrapolated / second:.1f}× (one more replication)"
    )


if __name__ == "__main__":
    main()
