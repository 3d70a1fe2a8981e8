"""Issue 12 items 1 and 3: a point joins the road only within the snap limit, its gap to the
road counts in the ETA, and closures never make a response faster (sample city and Jinan)."""

import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

import routing
from cim.response import dispatch_incidents
from cim.sample import SAMPLE_DEM
from cim.waterlogging import ponding, read_dem, road_closures
from tests.conftest import points

ACCESS_MPS = 15 / 3.6  # the profiles' access_speed_kph
JINAN = "sample_data/networks/jinan_nodes.csv.gz", "sample_data/networks/jinan_edges.csv.gz"


def fire_stations(city) -> gpd.GeoDataFrame:
    return city.layer("facilities").query("kind == 'fire_station'")


def offset(lonlat, east_m: float, north_m: float) -> tuple[float, float]:
    lon, lat = lonlat
    return lon + east_m / (111_320 * np.cos(np.radians(lat))), lat + north_m / 111_320


# -- item 1: the snap limit and the gap ------------------------------------------------------


def test_an_incident_beyond_the_snap_limit_gets_no_route_and_says_how_far(city):
    router = city.router("fire_engine")
    far = points("far", [(104.5, 30.66)])  # ~40 km east of the sample's roads
    row = router.dispatch(far, fire_stations(city)).iloc[0]
    assert pd.isna(row.resource_id) and np.isnan(row.eta_s)
    assert row.incident_snap_m > 30_000
    assert row.reason == (
        f"{row.incident_snap_m:,.0f} m from the nearest road, beyond the snap limit of 300 m "
        "(max_snap_m)"
    )


def test_the_snap_limit_is_configurable(city):
    router = city.router("fire_engine")
    incidents = city.layer("incidents").set_index("id").loc[["INC-0036"]].reset_index()
    default = router.dispatch(incidents, fire_stations(city)).iloc[0]
    assert 600 < default.incident_snap_m < 650 and "beyond the snap limit" in default.reason
    wide = router.dispatch(incidents, fire_stations(city), max_snap_m=700).iloc[0]
    assert wide.reason is None and wide.incident_snap_m == pytest.approx(default.incident_snap_m)
    assert wide.access_s >= wide.incident_snap_m / ACCESS_MPS  # 624 m at 15 km/h: 150 s
    with pytest.raises(ValueError, match="max_snap_m must be a distance in metres > 0"):
        router.dispatch(incidents, fire_stations(city), max_snap_m=0)


def test_a_station_beyond_the_snap_limit_sends_no_one(grid):
    graph = routing.graph_from_roads(grid)
    router = routing.Router(graph)
    stations = points("s", [(104.060, 30.652), offset((104.060, 30.652), -500, 0)])
    routes = router.dispatch(points("i", [(104.060, 30.658)]), stations, k=2)
    assert routes["resource_id"].tolist() == ["s0"]
    areas = router.service_areas(stations, cutoffs=[300])
    assert areas["reason"].iat[1].endswith("beyond the snap limit of 300 m (max_snap_m)")
    assert areas.geometry.iat[1].is_empty and not areas.geometry.iat[0].is_empty


def test_the_gap_is_driven_at_the_access_speed_and_the_road_part_equals_networkx(city):
    """Points beyond dead ends, 20-250 m off the road: road part = networkx, gap at 15 km/h."""
    graph = city.graph
    core = max(nx.strongly_connected_components(graph), key=len)
    undirected = graph.to_undirected(as_view=True)
    ends = sorted(n for n in core if len(set(undirected.neighbors(n))) == 1)[:25]
    rng = np.random.default_rng(5)
    spots, gaps = [], []
    for node in ends:
        (other,) = set(undirected.neighbors(node))
        a, b = graph.nodes[node], graph.nodes[other]
        away = np.array([(a["x"] - b["x"]) * np.cos(np.radians(a["y"])), a["y"] - b["y"]])
        gap = float(rng.uniform(20, 250))
        spots.append(offset((a["x"], a["y"]), *(away / np.linalg.norm(away) * gap)))
        gaps.append(gap)
    sources = sorted(core)[::400][:6]
    resources = points("r", [(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in sources])
    routes = city.router("fire_engine").dispatch(
        points("i", spots), resources, k=len(sources), max_snap_m=300
    )
    profile = routing.get_profile("fire_engine")

    def engine_time(u, v, data):
        return min(
            d["length"] / (profile.speeds([d["speed_kph"]], [d["road_class"]])[0] / 3.6)
            for d in data.values()
        )

    checked = 0
    for row in routes.itertuples():
        at = int(row.incident_id[1:])
        if abs(row.incident_snap_m - gaps[at]) > 0.5:  # another road is nearer than the dead end
            continue
        assert row.resource_snap_m < 1e-6
        assert row.access_s == pytest.approx(row.incident_snap_m / ACCESS_MPS, rel=1e-9)
        road = nx.shortest_path_length(
            graph, sources[int(row.resource_id[1:])], ends[at], weight=engine_time
        )
        assert row.eta_s - row.access_s == pytest.approx(road, rel=1e-9)
        checked += 1
    assert checked >= 50


def test_the_demo_reports_fire_incidents_beyond_the_snap_limit(demo):
    out, _ = demo  # the run ended with exit code 0
    report = (out / "report.md").read_text("utf-8")
    # before issue 12: "8 of 12", three of them 497-624 m from any road
    assert "5 of 12 fire incidents are reached by the first engine within 5 minutes" in report
    assert "3 have no route" in report
    routes = pd.read_csv(out / "routes.csv").set_index("incident_id")
    for incident in ("INC-0036", "INC-0050", "INC-0059"):
        assert "beyond the snap limit of 300 m" in routes.loc[incident, "reason"]
    assert "is part of every ETA" in report and "counts against the 5-minute rule" in report


def test_cli_dispatch_takes_max_snap_m_and_notes_the_rule(city, tmp_path, invoke):
    incidents = city.layer("incidents").query("kind == 'fire'")
    stations = fire_stations(city)
    for name, table in (("incidents", incidents), ("stations", stations)):
        table.to_file(tmp_path / f"{name}.geojson")

    def dispatch(out, *extra):
        return invoke(
            "dispatch",
            "--incidents",
            tmp_path / "incidents.geojson",
            "--resources",
            tmp_path / "stations.geojson",
            "--profile",
            "fire_engine",
            "--out",
            out,
            *extra,
        )

    def run(*extra):
        out = tmp_path / f"out{len(extra)}"
        result = dispatch(out, *extra)
        assert result.exit_code == 0, result.output
        return pd.read_csv(out / "routes.csv"), (out / "report.md").read_text("utf-8")

    routes, report = run()
    assert routes["reason"].str.contains("beyond the snap limit of 300 m").sum() == 3
    assert "nearest road within 300 m" in report and "15 km/h" in report
    routes, report = run("--max-snap-m", "700")
    assert routes["eta_s"].notna().all() and "nearest road within 700 m" in report
    result = dispatch(tmp_path / "bad", "--max-snap-m", "-5")
    assert result.exit_code == 1 and "--max-snap-m must be more than 0" in result.output


# -- item 3: closures never make a response faster -------------------------------------------


def assert_never_faster(router, closed, incidents, resources) -> tuple[pd.DataFrame, int]:
    """Every (incident, resource) ETA with closures ≥ without.

    Returns the first-unit comparison and how many pairs got slower or lost their route.
    """
    k = len(resources)
    before = router.dispatch(incidents, resources, k=k)
    after = closed.dispatch(incidents, resources, k=k)
    pairs = before.merge(after, on=["incident_id", "resource_id"], how="right", suffixes=("", "_c"))
    reached = pairs["resource_id"].notna()
    assert pairs.loc[reached, "eta_s"].notna().all()  # no pair is reachable only with closures
    slack = pairs.loc[reached, "eta_s_c"] - pairs.loc[reached, "eta_s"]
    assert (slack >= -1e-6).all(), pairs.loc[reached][slack < -1e-6]
    comparison = routing.compare_dispatch(before, after)
    delay = comparison["eta_after_s"].fillna(np.inf) - comparison["eta_before_s"].fillna(np.inf)
    assert not (delay < -1e-6).any()
    assert comparison.loc[comparison["eta_before_s"].isna(), "eta_after_s"].isna().all()
    # unreachable both times is not a change of route (item 4)
    both = comparison["eta_before_s"].isna() & comparison["eta_after_s"].isna()
    assert not comparison.loc[both, "rerouted"].any()
    lost = len(before.dropna(subset=["resource_id"])) - int(reached.sum())
    return comparison, int((slack > 1e-6).sum()) + lost


@pytest.fixture(scope="session")
def sample_flood(city):
    """The `cim flood` scenario on the sample DEM: 100 mm/h for 2 h."""
    dem = read_dem(SAMPLE_DEM)
    _, water = ponding(dem, rain_mm_h=100, hours=2, runoff=0.9, drainage_mm_h=30)
    return road_closures(city.layer("roads"), dem, water)


def test_the_sample_flood_never_shortens_a_response(city, sample_flood):
    before = dispatch_incidents(city)
    after = dispatch_incidents(city, closures=sample_flood)
    comparison = routing.compare_dispatch(before, after)
    delay = comparison["eta_after_s"].fillna(np.inf) - comparison["eta_before_s"].fillna(np.inf)
    assert not (delay < -1e-6).any(), comparison[delay < -1e-6]
    stations = city.layer("facilities").query("kind in ('fire_station', 'ambulance_base')")
    changed = 0
    for profile in ("fire_engine", "ambulance", "car"):
        router = city.router(profile)
        changed += assert_never_faster(
            router,
            router.with_closures(sample_flood, buffer_m=0.5),
            city.layer("incidents"),
            stations,
        )[1]
    assert changed > 0  # the flood does slow some station-incident pairs


def test_a_station_under_the_flood_is_cut_off_not_moved_to_another_road(city):
    router = city.router("fire_engine")
    stations = fire_stations(city)
    snapped = router.snap(stations.iloc[[0]])
    spot = router._engine.lines[snapped.edge[0]].interpolate(snapped.fraction[0], normalized=True)
    flood = gpd.GeoDataFrame(
        {"depth_cm": [60]}, geometry=[spot.buffer(30)], crs=router.metric_crs
    ).to_crs(4326)
    closed = router.with_closures(flood)
    areas = closed.service_areas(stations.iloc[[0]], cutoffs=[300])
    assert areas.geometry.iat[0].is_empty
    reason = areas["reason"].iat[0]
    assert reason.startswith("its nearest road (") and reason.endswith(
        "is closed for fire_engine by the closures"
    )
    comparison, _ = assert_never_faster(router, closed, city.layer("incidents"), stations)
    assert stations["id"].iat[0] in set(comparison["resource_before"])
    assert stations["id"].iat[0] not in set(comparison["resource_after"].dropna())


def test_a_point_on_a_closed_street_leaves_by_the_dry_end(grid):
    """Flood in the middle of 西街: a unit near its south end still leaves southwards."""
    graph = routing.graph_from_roads(grid)
    lengths = {d["name"]: d["length"] for *_, d in graph.edges(data=True)}
    middle = shapely.Point(104.060, 30.655).buffer(0.0005)
    flood = gpd.GeoDataFrame({"depth_cm": [60]}, geometry=[middle], crs=4326)
    router = routing.Router(graph, profile="fire_engine")
    closed = router.with_closures(flood)
    incidents, units = points("i", [(104.070, 30.6595)]), points("r", [(104.060, 30.6505)])
    before = router.dispatch(incidents, units, objective="distance").iloc[0]
    after = closed.dispatch(incidents, units, objective="distance").iloc[0]
    south = 0.05 * lengths["西街"]
    assert after.distance_m == pytest.approx(
        south + lengths["南横街"] + 0.95 * lengths["东街"], rel=1e-4
    )
    assert after.distance_m > before.distance_m and after.eta_s > before.eta_s


@pytest.fixture(scope="session")
def jinan():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", routing.UnreachableNodesWarning)
        return routing.graph_from_tables(*JINAN)


def test_polygon_closures_never_shorten_a_response_on_jinan(jinan):
    """A second real city: stations and incidents near random crossings, 14 flooded boxes
    (five of them on stations), 60 cm deep, so fire engines (50 cm) cannot pass."""
    rng = np.random.default_rng(12)
    nodes = np.array(list(jinan.nodes))
    xy = np.array([(jinan.nodes[n]["x"], jinan.nodes[n]["y"]) for n in nodes])
    centre = xy.mean(axis=0)
    inner = np.flatnonzero(np.hypot(*((xy - centre) * [0.8, 1]).T) < 0.06)

    def near_crossings(count, spread_m):
        picked = xy[rng.choice(inner, count, replace=False)]
        return [offset(tuple(p), *rng.uniform(-spread_m, spread_m, 2)) for p in picked]

    stations = points("s", near_crossings(12, 60))
    incidents = points("i", [*near_crossings(150, 120), offset(tuple(centre), 0, 25_000)])
    boxes = [
        shapely.Point(p).buffer(float(rng.uniform(0.002, 0.005)), cap_style="square")
        for p in [*(tuple(g.coords[0]) for g in stations.geometry[:5]), *near_crossings(9, 0)]
    ]
    flood = gpd.GeoDataFrame({"depth_cm": [60] * len(boxes)}, geometry=boxes, crs=4326)
    router = routing.Router(jinan, profile="fire_engine")
    closed = router.with_closures(flood)
    assert closed.closures["closed_edges"].iat[0] > 100
    comparison, changed = assert_never_faster(router, closed, incidents, stations)
    assert changed > 100 and (comparison["delay_s"] > 1).sum() >= 5  # the closures bite
    assert comparison["eta_after_s"].isna().sum() > comparison["eta_before_s"].isna().sum()
    far = comparison.set_index("incident_id").loc["i150"]
    assert np.isnan(far.eta_before_s) and not far.rerouted  # 25 km north: beyond the limit
