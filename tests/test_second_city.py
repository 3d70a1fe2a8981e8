"""A second test city, end to end: a window of Jinan's real road network, not the sample.

Roads: ``tests/data/jinan_roads.geojson`` (OpenStreetMap via MTrajRec, ODbL; see
``jinan_roads.md``), 907 roads around 大明湖. Everything else is synthetic, flagged
``synthetic=True`` and made here with a fixed seed: four fire stations and two ambulance bases
at crossings, ten incidents beside the roads and two more 0.5 km and 1 km south of every road,
thirty cameras, three districts (the southern one holds no road), and a DEM of the city's own
extent from :func:`cim.waterlogging.synthetic_dem`, with sinks on the roads the first
responses take. The city is saved once per run (``made_once``), with its DEM in its settings,
and every command runs on it through the CLI in-process with ``--city``.
"""

from __future__ import annotations

import base64
import json
import re
import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from pyproj import Transformer

import cim
import layers
import routing
from cim.response import dispatch_incidents
from cim.views import city_view, export_html
from cim.waterlogging import read_dem, synthetic_dem

JINAN_ROADS = Path(__file__).parent / "data" / "jinan_roads.geojson"
CREDITS = "© OpenStreetMap contributors (ODbL), road network via MTrajRec"
SEED = 20260716
FAR = ("far1", "far2")  # incidents south of every road, beyond the 300 m snap limit
ACCESS_MPS = 15 / 3.6  # the profiles' access_speed_kph


def cli(*args: object):
    """``cim ARGS`` in-process, its console 200 columns wide (as ``invoke`` in conftest)."""
    from rich.console import Console
    from typer.testing import CliRunner

    import cim.cli

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cim.cli, "console", Console(width=200, soft_wrap=True))
        result = CliRunner().invoke(cim.cli.app, [str(a) for a in args])
    return {"exit_code": result.exit_code, "output": result.output}


def quiet(make, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", layers.CimWarning)
        return make(*args, **kwargs)


def _core_nodes(graph: nx.MultiDiGraph) -> list:
    return sorted(max(nx.strongly_connected_components(graph), key=len))


def _synthetic_layers(city: cim.CityModel) -> dict[str, gpd.GeoDataFrame]:
    """Districts, stations, incidents and cameras for the city's roads, from a fixed seed."""
    rng = np.random.default_rng(SEED)
    roads, graph, metric = city.layer("roads"), quiet(lambda: city.graph), city.metric_crs
    west, south, east, north = roads.total_bounds
    core = _core_nodes(graph)
    xy = np.array([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in core])

    def crossing(fx: float, fy: float) -> tuple[float, float]:
        want = (west + fx * (east - west), south + fy * (north - south))
        return tuple(xy[np.argmin(np.hypot(*(xy - want).T))])

    sites = [crossing(*f) for f in [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)]]
    sites += [crossing(0.5, 0.5), crossing(0.5, 0.1)]
    facilities = gpd.GeoDataFrame(
        {
            "id": ["fs1", "fs2", "fs3", "fs4", "ab1", "ab2"],
            "kind": ["fire_station"] * 4 + ["ambulance_base"] * 2,
            "name": [f"测试消防站{i}" for i in range(1, 5)] + ["测试急救站1", "测试急救站2"],
            "units": 2,
            "synthetic": True,
        },
        geometry=gpd.points_from_xy(*zip(*sites, strict=True)),
        crs=4326,
    )
    lines = roads.to_crs(metric).geometry
    long_enough = np.flatnonzero(lines.length.to_numpy() > 40)
    picked = lines.iloc[rng.choice(long_enough, 10, replace=False)]
    along = shapely.line_interpolate_point(
        picked.values, rng.uniform(0.2, 0.8, 10), normalized=True
    )
    angle, gap = rng.uniform(0, 2 * np.pi, 10), rng.uniform(5, 40, 10)
    near = (
        shapely.get_coordinates(along)
        + np.column_stack([np.cos(angle), np.sin(angle)]) * gap[:, None]
    )
    near = gpd.GeoSeries(shapely.points(near), crs=metric).to_crs(4326)
    middle = (west + east) / 2
    far = gpd.GeoSeries.from_xy([middle, middle + 0.005], [south - 0.004, south - 0.008], crs=4326)
    incidents = gpd.GeoDataFrame(
        {
            "id": [f"inc{i:02d}" for i in range(10)] + list(FAR),
            "kind": ["fire", "medical"] * 6,
            "priority": rng.integers(1, 4, 12),
            "reported_at": pd.Timestamp("2026-07-16 08:00")
            + pd.to_timedelta(np.arange(12) * 7, "min"),
            "synthetic": True,
        },
        geometry=pd.concat([near, far], ignore_index=True),
        crs=4326,
    )
    spots = shapely.line_interpolate_point(
        lines.iloc[rng.choice(len(lines), 30, replace=False)].values, 0.5, normalized=True
    )
    sensors = gpd.GeoDataFrame(
        {
            "id": [f"cam{i:02d}" for i in range(30)],
            "kind": "camera",
            "range_m": 50.0,
            "status": rng.choice(["online", "offline"], 30, p=[0.9, 0.1]),
            "synthetic": True,
        },
        geometry=gpd.GeoSeries(spots, crs=metric).to_crs(4326).values,
        crs=4326,
    )
    pad = 0.002
    districts = gpd.GeoDataFrame(
        {
            "code": ["JN-WEST", "JN-EAST", "JN-SOUTH"],
            "name": ["西片", "东片", "南片"],
            "parent_code": "370100000000",
            "synthetic": True,
        },
        geometry=[
            shapely.box(west - pad, south - pad, middle, north + pad),
            shapely.box(middle, south - pad, east + pad, north + pad),
            shapely.box(west - pad, south - 0.012, east + pad, south - pad),
        ],
        crs=4326,
    )
    return {
        "districts": districts,
        "facilities": facilities,
        "incidents": incidents,
        "sensors": sensors,
    }


def _make_city(folder: Path) -> None:
    """The Jinan city folder (``city``), its DEM beside it, and the CLI's input files."""
    roads = layers.load("roads", JINAN_ROADS).assign(synthetic=False)
    city = cim.CityModel({"roads": roads}, name="济南大明湖")
    synthetic = _synthetic_layers(city)
    for name, layer in synthetic.items():  # districts first: they place the others
        city.add_layer(name, layer)
    routes = quiet(dispatch_incidents, city)
    fire = routes[(routes["incident_kind"] == "fire") & routes.geometry.notna()]
    sinks = gpd.GeoSeries(fire.geometry.values, crs=4326).to_crs(city.metric_crs)
    sinks = sinks.interpolate(0.5, normalized=True)  # so that the flood closes their roads
    dem = synthetic_dem(
        folder / "jinan_dem_synthetic.tif",
        tuple(roads.total_bounds),
        elevation_m=(34.0, 26.0),
        sinks=sinks,
        seed=SEED,
        description="synthetic DEM of central Jinan for the CIM tests; not survey data",
    )
    city.settings = cim.CitySettings(home="山东省济南市", credits=CREDITS, dem=dem)
    city.save(folder / "city")
    incidents = synthetic["incidents"]
    pd.DataFrame(
        {
            "id": incidents["id"],
            "kind": incidents["kind"],
            "lon": incidents.geometry.x,
            "lat": incidents.geometry.y,
            "synthetic": True,
        }
    ).to_csv(folder / "incidents.csv", index=False)
    stations = synthetic["facilities"].query("kind == 'fire_station'")
    stations.to_file(folder / "fire_stations.geojson", driver="GeoJSON")


@pytest.fixture(scope="session")
def jinan_dir(made_once) -> Path:
    folder, _ = made_once("jinan_city", _make_city)
    return folder


@pytest.fixture(scope="session")
def jinan(jinan_dir) -> cim.CityModel:
    return cim.CityModel.load(jinan_dir / "city")


def _run(made_once, jinan_dir, name: str, *args) -> tuple[Path, dict]:
    """``cim ARGS --city JINAN --out FOLDER``, once per test run."""
    return made_once(name, lambda out: cli(*args, "--city", jinan_dir / "city", "--out", out))


@pytest.fixture(scope="session")
def flooded(made_once, jinan_dir):
    return _run(made_once, jinan_dir, "jinan_flood", "flood", "--rain-mm-h", 90, "--hours", 2)


@pytest.fixture(scope="session")
def dispatched(made_once, jinan_dir, flooded):
    """``cim dispatch`` of the incidents CSV, k=2 fire engines: without, then with the flood."""
    common = [
        "dispatch",
        "--incidents",
        jinan_dir / "incidents.csv",
        "--resources",
        jinan_dir / "fire_stations.geojson",
        "--profile",
        "fire_engine",
        "--k",
        2,
    ]
    before = _run(made_once, jinan_dir, "jinan_dispatch", *common)
    closures = flooded[0] / "closures.geojson"
    after = _run(made_once, jinan_dir, "jinan_closed", *common, "--closures", closures)
    return before, after


# -- the city itself ------------------------------------------------------------------------


def test_the_saved_city_is_jinan_with_its_own_synthetic_dem(jinan_dir, jinan):
    roads = jinan.layer("roads")
    assert len(roads) == 907 and not roads["synthetic"].any()
    for name in ("facilities", "incidents", "sensors", "districts"):
        assert jinan.layer(name)["synthetic"].all(), name
    assert jinan.metric_crs.to_epsg() == 4548  # CGCS2000 zone of 117°E, not Chengdu's 4544
    assert jinan.settings.dem == (jinan_dir / "jinan_dem_synthetic.tif").resolve()
    dem = read_dem(jinan.settings.dem)
    assert dem.synthetic and dem.crs.to_epsg() == 4548 and dem.cell_m == 10.0
    with rasterio.open(jinan.settings.dem) as source:
        left, bottom, right, top = source.bounds
    to_lonlat = Transformer.from_crs(dem.crs, 4326, always_xy=True)
    west, south, east, north = to_lonlat.transform_bounds(left, bottom, right, top)
    r_west, r_south, r_east, r_north = roads.total_bounds
    assert west < r_west < r_east < east and south < r_south < r_north < north
    assert east - west < 0.04 and north - south < 0.04  # its own extent, 200 m margins


def test_a_dem_without_the_synthetic_tag_is_taken_as_surveyed(jinan, tmp_path):
    with rasterio.open(jinan.settings.dem) as source:
        profile, elevation = source.profile, source.read(1)
    with rasterio.open(tmp_path / "surveyed.tif", "w", **profile) as target:
        target.write(elevation, 1)
    assert not read_dem(tmp_path / "surveyed.tif").synthetic


# -- dispatch --------------------------------------------------------------------------------


def _reference_etas(graph, profile: routing.Profile, stations, points) -> pd.DataFrame:
    """Seconds from each station (at a crossing) to each point by networkx on ``graph``: the
    road time to the point's nearest road, the part of that road up to it, and the gap to it
    at 15 km/h. One row per point, one column per station."""
    to_metric = Transformer.from_crs(4326, layers.crs.metric_crs(points), always_xy=True)

    def seconds(d) -> float:
        return d["length"] / (profile.speeds([d["speed_kph"]], [d["road_class"]])[0] / 3.6)

    edges = [(u, v, d) for u, v, d in graph.edges(data=True) if u != v]
    lines = shapely.transform(
        np.array([d["geometry"] for *_, d in edges]),
        lambda c: np.column_stack(to_metric.transform(c[:, 0], c[:, 1])),
    )
    roads = nx.DiGraph()
    for u, v, d in edges:
        if not roads.has_edge(u, v) or roads[u][v]["t"] > seconds(d):
            roads.add_edge(u, v, t=seconds(d))
    node_at = {(graph.nodes[n]["x"], graph.nodes[n]["y"]): n for n in graph.nodes}
    sources = [node_at[(g.x, g.y)] for g in stations.geometry]
    etas = {}
    for point_id, point in points.geometry.items():
        spot = shapely.Point(to_metric.transform(point.x, point.y))
        gaps = shapely.distance(lines, spot)
        joined = roads.copy()
        for i in np.flatnonzero(gaps <= gaps.min() + 1e-6):  # a two-way road: both directions
            u, _, d = edges[i]
            joined.add_edge(u, "spot", t=lines[i].project(spot, normalized=True) * seconds(d))
        to_spot = nx.single_source_dijkstra_path_length(joined.reverse(), "spot", weight="t")
        etas[point_id] = [to_spot[s] + gaps.min() / ACCESS_MPS for s in sources]
    return pd.DataFrame.from_dict(etas, orient="index", columns=stations["id"].tolist())


def test_dispatch_on_jinan_matches_networkx_and_reports_the_far_incidents(jinan, dispatched):
    (out, run), _ = dispatched
    assert run["exit_code"] == 0, run["output"]
    assert "10 incidents routed, 2 without a route" in run["output"]
    routes = pd.read_csv(out / "routes.csv")
    stations = jinan.layer("facilities").query("kind == 'fire_station'")
    incidents = jinan.layer("incidents").set_index("id")
    near = incidents.drop(index=list(FAR))
    reference = _reference_etas(jinan.graph, routing.get_profile("fire_engine"), stations, near)
    for incident_id, want in reference.iterrows():
        got = routes[routes["incident_id"] == incident_id].sort_values("rank")
        best = sorted(want.index, key=lambda s: (want[s], s))[:2]
        assert got["resource_id"].tolist() == best, incident_id
        assert got["eta_s"].to_numpy() == pytest.approx(want[best].to_numpy(), rel=1e-9)
    for incident_id in FAR:
        row = routes.set_index("incident_id").loc[incident_id]
        assert np.isnan(row["eta_s"]) and pd.isna(row["resource_id"])
        assert row["reason"] == (
            f"{row['incident_snap_m']:,.0f} m from the nearest road, beyond the snap limit "
            "of 300 m (max_snap_m)"
        )
    roads = jinan.layer("roads").to_crs(jinan.metric_crs).geometry.values
    far = incidents.loc[list(FAR)].to_crs(jinan.metric_crs).geometry
    gaps = [shapely.distance(roads, point).min() for point in far]
    assert routes.set_index("incident_id").loc[list(FAR), "incident_snap_m"].tolist() == (
        pytest.approx(gaps, abs=1e-6)
    )
    assert 300 < gaps[0] < gaps[1]
    report = (out / "report.md").read_text("utf-8")
    assert all(f in report for f in FAR) and "beyond the snap limit" in report
    assert "Chengdu" not in report and "成都" not in report


# -- flood with its own DEM, and its closures fed to dispatch ------------------------------------


def test_cim_flood_ponds_jinan_from_its_own_dem(jinan, flooded):
    out, run = flooded
    assert run["exit_code"] == 0, run["output"]
    assert "the DEM covers 100% of the roads' length" in run["output"]
    ponds = gpd.read_file(out / "ponding.geojson")
    closures = gpd.read_file(out / "closures.geojson")
    assert len(ponds) > 0 and len(closures) > 0
    assert ponds["synthetic"].all()  # from a synthetic DEM, and the file says so
    west, south, east, north = jinan.layer("roads").total_bounds
    margin = 0.003  # the DEM's 200 m beyond the roads
    for frame in (ponds, closures):
        x0, y0, x1, y1 = frame.total_bounds
        assert west - margin < x0 < x1 < east + margin and south - margin < y0 < y1 < north + margin
    assert (closures["closed_for"].str.contains("fire_engine")).any()
    report = (out / "report.md").read_text("utf-8")
    assert "## Dispatch before / after" in report
    assert "The DEM is synthetic (its GeoTIFF is tagged SYNTHETIC=yes)" in report
    assert "Chengdu" not in report and "成都" not in report


def _route_overlap_m(routes: gpd.GeoDataFrame, barriers: gpd.GeoDataFrame, metric) -> np.ndarray:
    """Metres of each route that run within 0.25 m of a barrier (the closures reach 0.5 m)."""
    zone = shapely.union_all(barriers.to_crs(metric).buffer(0.25).values)
    lines = routes.to_crs(metric).geometry.values
    return np.array([0.0 if g is None else g.intersection(zone).length for g in lines])


@pytest.fixture(scope="session")
def flood_dispatch(jinan, flooded):
    """Every incident dispatched by the library before and after the flood's closures."""
    closures = gpd.read_file(flooded[0] / "closures.geojson")
    closures["closed_for"] = closures["closed_for"].str.split(",")
    before = quiet(dispatch_incidents, jinan)
    return closures, before, quiet(dispatch_incidents, jinan, closures=closures)


def test_flood_closures_never_speed_a_response_and_closed_roads_carry_none(
    jinan, flooded, flood_dispatch
):
    closures, before, after = flood_dispatch
    comparison = routing.compare_dispatch(before, after).set_index("incident_id")
    changed = int(comparison["rerouted"].sum())
    assert f"{changed} of 12 incidents get another route or unit" in (
        flooded[0] / "report.md"
    ).read_text("utf-8")  # cim flood's own before / after, from the same closures
    reached = comparison["eta_before_s"].notna()
    assert (comparison.loc[reached, "delay_s"].fillna(np.inf) >= -1e-9).all()
    assert comparison.loc[list(FAR), "eta_after_s"].isna().all()
    assert not comparison.loc[list(FAR), "rerouted"].any()
    assert (comparison["delay_s"] > 1).sum() >= 3  # the flood bites
    ran_through = []
    for profile in after["profile"].unique():
        shut = closures[closures["closed_for"].map(lambda names, p=profile: p in names)]
        routes = {
            name: r[r["profile"] == profile] for name, r in (("before", before), ("after", after))
        }
        assert _route_overlap_m(routes["after"], shut, jinan.metric_crs).max() < 0.01, profile
        ran_through.append(_route_overlap_m(routes["before"], shut, jinan.metric_crs).max())
    assert max(ran_through) > 5  # before the flood, routes ran along the roads it closes


def test_cim_dispatch_takes_the_flood_closures_as_the_flood_applied_them(
    jinan, dispatched, flooded, flood_dispatch
):
    (out_before, _), (out_after, run) = dispatched
    assert run["exit_code"] == 0, run["output"]
    assert re.search(r"closures: \d+ road segments closed for fire_engine", run["output"])
    before, after = (
        routing.first_units(pd.read_csv(out / "routes.csv")).set_index("incident_id")
        for out in (out_before, out_after)
    )
    both = before["eta_s"].notna()
    assert (after.loc[both, "eta_s"].fillna(np.inf) >= before.loc[both, "eta_s"] - 1e-9).all()
    assert (after.loc[both, "eta_s"].fillna(np.inf) > before.loc[both, "eta_s"] + 1).any()
    # the closures file reaches as far in `cim dispatch` as in the flood's own comparison
    library = flood_dispatch[2].query("incident_kind == 'fire'").set_index("incident_id")
    assert after.loc[library.index, "resource_id"].tolist() == library["resource_id"].tolist()
    assert after.loc[library.index, "eta_s"].to_numpy() == pytest.approx(
        library["eta_s"].to_numpy(dtype=float), rel=1e-9, nan_ok=True
    )
    shut = gpd.read_file(flooded[0] / "closures.geojson")
    shut = shut[shut["closed_for"].str.split(",").map(lambda p: "fire_engine" in p)]
    routes = gpd.read_file(out_after / "routes.geojson")
    assert _route_overlap_m(routes, shut, jinan.metric_crs).max() < 0.01
    assert "## Closures: before / after" in (out_after / "report.md").read_text("utf-8")


# -- vitals ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def vitals_by_district(made_once, jinan_dir):
    return _run(made_once, jinan_dir, "jinan_vitals_district", "vitals", "--level", "district")


def test_vitals_per_district_say_no_data_where_jinan_has_none(vitals_by_district):
    out, run = vitals_by_district
    assert run["exit_code"] == 0, run["output"]
    table = pd.read_csv(out / "vitals.csv").set_index(["indicator_id", "unit_code"])
    south = table.xs("JN-SOUTH", level="unit_code")
    assert (south.loc[["road_network_density", "camera_per_road_km"], "status"] == "no_data").all()
    assert south.loc["road_network_density", "note"].startswith(
        "no roads or buildings in this unit"
    )
    west = table.xs("JN-WEST", level="unit_code")
    assert (
        west.loc["road_network_density", "status"] != "no_data"
        and west.loc["road_network_density", "value"] > 0
    )
    assert west.loc["building_density", "note"] == "the city has no buildings layer"
    assert west.loc["hospital_density", "status"] == "no_data"
    assert "no rows with kind == 'hospital'" in west.loc["hospital_density", "note"]


def test_vitals_for_the_city_say_which_area_was_used(made_once, jinan_dir, jinan, flood_dispatch):
    out, run = _run(made_once, jinan_dir, "jinan_vitals_city", "vitals", "--level", "city")
    assert run["exit_code"] == 0, run["output"]
    table = pd.read_csv(out / "vitals.csv").set_index("indicator_id")
    held = jinan.layer("districts").query("code != 'JN-SOUTH'").to_crs(jinan.metric_crs)
    km2 = shapely.union_all(held.geometry.values).area / 1e6
    assert table.loc["sensor_density", "value"] == pytest.approx(30 / km2, rel=1e-6)
    assert table.loc["sensor_density", "note"] == (
        f"area {km2:,.1f} km²: the union of the 2 districts that hold roads or buildings "
        "(1 of 3 hold none)"
    )
    first = routing.first_units(flood_dispatch[1]).set_index("incident_id")["eta_s"]
    assert table.loc["mean_first_eta_min", "value"] == pytest.approx(first.mean() / 60)
    assert table.loc["fire_within_5min_share", "outside"] == 1  # far1, in the southern district
    report = (out / "report.md").read_text("utf-8")
    assert "the union of the 2 districts that hold roads or buildings" in report
    assert r"Rows outside every unit, left out: incidents\_per\_10k\_buildings 2" in report


# -- views -------------------------------------------------------------------------------------


def _deck(path: Path) -> tuple[str, str, dict[str, np.ndarray]]:
    """An exported map's page, its legend panel, and the coordinates (lon/lat) of each layer."""
    html = path.read_text("utf-8")
    panel = re.search(r'<div id="cim-panel">(.*?)</div>\n<script>', html, re.S).group(1)
    columns = json.loads(re.search(r"const columns = (\{.*?\});\n", html).group(1))
    xy = {
        name: np.concatenate(
            [
                np.frombuffer(base64.b64decode(c["values"]), dtype=np.int32).reshape(-1, 2) / 1e6
                for c in layer["columns"].values()
                if c["kind"] == "coords"
            ]
        )
        for name, layer in columns.items()
    }
    return html, panel, xy


def test_maps_of_jinan_are_drawn_in_jinan_with_its_credits(
    jinan, dispatched, flooded, vitals_by_district, tmp_path, render
):
    (out, _), _ = dispatched
    routes = gpd.read_file(out / "routes.geojson")
    view = export_html(city_view(jinan, routes=routes, preset="2d"), tmp_path / "city.html")
    maps = {
        "city_view": (view, {"roads": 907, "routes": 20, "facilities": 6, "incidents": 12}),
        "cim dispatch": (out / "map.html", {"routes": 20, "facilities": 6, "incidents": 12}),
        "cim flood": (flooded[0] / "map.html", {"waterlogging": 5, "closures": 18}),
        "cim vitals": (vitals_by_district[0] / "map.html", {"units": 3}),
    }
    west, south, east, north = jinan.layer("districts").total_bounds
    for name, (path, drawn) in maps.items():
        html, panel, xy = _deck(path)
        for layer, count in drawn.items():
            assert len(xy[layer]) >= count, (name, layer)
        xy = np.concatenate(list(xy.values()))
        assert (xy[:, 0] >= west - 1e-6).all() and (xy[:, 0] <= east + 1e-6).all(), name
        assert (xy[:, 1] >= south - 1e-6).all() and (xy[:, 1] <= north + 1e-6).all(), name
        assert f"数据：{CREDITS}" in panel and "合成数据：区县 3/3" in panel, name
        assert "成都" not in html and "Chengdu" not in html, name
    assert "事件 12/12" in _deck(out / "map.html")[1]  # the CSV's synthetic column counts
    assert "积水点 5/5" in _deck(flooded[0] / "map.html")[1]  # ponds of a synthetic DEM
    page = render(flooded[0] / "map.html")
    assert page.offline and page.drawn > 20_000


def test_cim_coverage_of_jinan_draws_its_finest_units_and_credits_its_data(made_once, jinan_dir):
    out, run = _run(made_once, jinan_dir, "jinan_coverage", "coverage")
    assert run["exit_code"] == 0, run["output"]  # no grid: the districts, not an error
    table = pd.read_csv(out / "coverage_by_unit.csv")
    assert set(table["level"]) == {"district"}
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "in the sample" not in report and "Chengdu" not in report
    assert "Data: © OpenStreetMap" in report and "sensors 30/30" in report
