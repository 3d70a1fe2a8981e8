"""A city folder keeps its compiled road graph: read at the next load, never when the roads
changed, never changing a result, and never failing a command when it cannot be used."""

from __future__ import annotations

import subprocess
import sys
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from typer.testing import CliRunner

import cim
import routing
from cim.cli import app
from cim.graph_cache import CACHE_FILE, GraphCacheWarning
from cim.response import dispatch_incidents
from layers.crs import metric_crs
from routing._engine import CompiledGraph
from tests.conftest import points
from tests.test_graph_trust import reference_graph

A, C, D = (104.060, 30.650), (104.080, 30.650), (104.070, 30.660)
BENT = [A, (104.070, 30.635), C]  # the direct street drawn round a long bend
NODES = {1: A, 2: C, 3: D}


def roads(change: str | None = None) -> gpd.GeoDataFrame:
    """A triangle: a direct street A-C and a detour by D; ``change`` alters the direct one."""
    lines, u, v = [[A, C], [A, D], [D, C]], [1, 1, 3], [2, 3, 2]
    highway, oneway = ["primary"] * 3, [False] * 3
    if change == "geometry":
        lines[0] = BENT
    elif change == "oneway":  # one way from C to A only
        lines[0], u[0], v[0], oneway[0] = [C, A], 2, 1, True
    elif change == "highway":
        highway[0] = "footway"
    return gpd.GeoDataFrame(
        {"u": u, "v": v, "highway": highway, "oneway": oneway, "name": None, "maxspeed": None},
        geometry=[shapely.LineString(line) for line in lines],
        crs=4326,
    )


def truth(change: str | None = None) -> float:
    """Metres from A to C by networkx on the plain network, footways left out."""
    import networkx as nx

    table = roads(change)
    table = table[table["highway"] != "footway"]
    graph = reference_graph(table.geometry, table["u"], table["v"], table["oneway"])
    return nx.shortest_path_length(graph, 1, 2, weight="length")


def metres(city: cim.CityModel) -> float:
    routes = city.router("car").dispatch(
        points("i", [C], kind="fire", priority=1), points("s", [A]), objective="distance"
    )
    return float(routes["distance_m"].iat[0])


def load(folder) -> cim.CityModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", routing.UnreachableNodesWarning)
        return cim.CityModel.load(folder)


@pytest.fixture
def folder(tmp_path):
    return cim.CityModel({"roads": roads()}, name="triangle").save(tmp_path / "city")


def test_the_next_load_reads_the_road_graph_from_the_city_folder(folder):
    first = load(folder)
    assert metres(first) == pytest.approx(truth(), rel=1e-9)
    assert first.road_graph_cache == f"built and cached in {folder / CACHE_FILE}"
    again = load(folder)
    assert metres(again) == metres(first)
    assert again.road_graph_cache == f"read from {folder / CACHE_FILE}"
    assert "graph:" not in repr(again)  # the networkx graph was not built
    assert again.router("car").graph.number_of_edges() == 6  # but is there when asked for


@pytest.mark.parametrize("change", ["geometry", "oneway", "highway"])
def test_a_changed_road_is_never_served_from_the_cache(folder, change):
    assert metres(load(folder)) == pytest.approx(truth(), rel=1e-9)
    assert (folder / CACHE_FILE).is_file()
    # the roads file replaced in the folder (another tool, a copy): the cache stays beside it
    cim.CityModel({"roads": roads(change)}).layer("roads").to_parquet(folder / "roads.parquet")
    changed = load(folder)
    assert truth(change) > truth() + 500
    assert metres(changed) == pytest.approx(truth(change), rel=1e-9)
    assert changed.road_graph_cache.startswith("built again (the roads changed)")
    again = load(folder)
    assert metres(again) == metres(changed)
    assert again.road_graph_cache.startswith("read from")


def test_roads_changed_in_memory_are_not_served_from_the_folder(folder):
    assert metres(load(folder)) == pytest.approx(truth(), rel=1e-9)
    replaced = load(folder)
    replaced.add_layer("roads", roads("geometry"))
    assert metres(replaced) == pytest.approx(truth("geometry"), rel=1e-9)
    assert replaced.road_graph_cache is None  # not the folder's roads: its cache is not used
    edited = load(folder)
    edited.layer("roads").loc[0, "highway"] = "footway"  # edited in place
    assert metres(edited) == pytest.approx(truth("highway"), rel=1e-9)
    assert edited.road_graph_cache.startswith("built again (the roads changed)")


def test_save_writes_a_folder_without_the_old_cache(folder):
    city = load(folder)
    metres(city)
    assert (folder / CACHE_FILE).is_file()
    city.add_layer("roads", roads("geometry"))
    city.save(folder)
    assert not (folder / "cache").exists()
    saved = load(folder)
    assert metres(saved) == pytest.approx(truth("geometry"), rel=1e-9)
    assert saved.road_graph_cache.startswith("built and cached")


def made_from(path) -> np.ndarray:
    with np.load(path) as stored:
        return stored["made_from"]


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_bytes(b"not a numpy archive"),
        lambda path: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]),
        lambda path: np.savez(path, made_from=made_from(path)),
    ],
    ids=["garbage", "truncated", "arrays missing"],
)
def test_a_damaged_cache_is_built_again_with_a_warning(folder, damage):
    metres(load(folder))
    damage(folder / CACHE_FILE)
    city = load(folder)
    with pytest.warns(GraphCacheWarning, match="cached road graph cannot be read"):
        assert metres(city) == pytest.approx(truth(), rel=1e-9)
    assert city.road_graph_cache.startswith("built again (the cache was damaged) and cached")
    again = load(folder)
    assert metres(again) == metres(city)
    assert again.road_graph_cache.startswith("read from")


def test_a_folder_where_the_cache_cannot_be_written_still_routes(folder):
    (folder / "cache").write_text("a file where the cache folder would go")
    city = load(folder)
    assert metres(city) == pytest.approx(truth(), rel=1e-9)
    assert city.road_graph_cache.startswith("built, not cached (")
    again = load(folder)
    assert metres(again) == metres(city)
    assert again.road_graph_cache.startswith("built, not cached (")


def test_a_cached_graph_gives_the_same_dispatch_and_warnings(city, tmp_path):
    used = {name: city.layer(name) for name in ("roads", "facilities", "incidents")}
    folder = cim.CityModel(used, name="chengdu").save(tmp_path / "chengdu")
    runs = []
    for _ in range(3):  # uncached (a new model), built and cached, read from the cache
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = cim.CityModel.load(folder) if runs else cim.CityModel(used)
            routes = dispatch_incidents(model, k=2)
            peak = model.router("fire_engine", hour=8).dispatch(
                model.layer("incidents"), model.layer("facilities")
            )
        notes = sorted((w.category.__name__, str(w.message)) for w in caught)
        runs.append((routes, peak, notes, model.road_graph_cache))
    assert [run[3] for run in runs][1:] == [
        f"built and cached in {folder / CACHE_FILE}",
        f"read from {folder / CACHE_FILE}",
    ]
    fresh, built, cached = runs
    assert fresh[2] == built[2] == cached[2] and fresh[2]  # the unreachable nodes, each time
    for run in (built, cached):
        for a, b in ((fresh[0], run[0]), (fresh[1], run[1])):
            pd.testing.assert_frame_equal(
                pd.DataFrame(a.drop(columns="geometry")), pd.DataFrame(b.drop(columns="geometry"))
            )
            assert list(shapely.to_wkb(a.geometry.values)) == list(
                shapely.to_wkb(b.geometry.values)
            )


def test_every_profile_and_hour_from_one_compiled_graph(city):
    graph = city.graph
    base = CompiledGraph.from_graph(graph, routing.get_profile("car"))
    stored = base.to_arrays()
    assert all(array.dtype != object for array in stored.values())
    for name in routing.PROFILES:
        profile = routing.get_profile(name)
        for hour in (None, 8):
            fresh = CompiledGraph.from_graph(graph, profile, hour=hour)
            for engine in (
                base.with_profile(profile, hour=hour),
                CompiledGraph.from_arrays(stored, profile, hour=hour),
            ):
                assert np.array_equal(engine.travel_time, fresh.travel_time)
                assert engine.access_speed_kph == fresh.access_speed_kph
                assert engine.nodes.tolist() == fresh.nodes.tolist()
                for field in ("xy", "edge_u", "edge_v", "length", "twin"):
                    assert np.array_equal(getattr(engine, field), getattr(fresh, field)), field
                assert shapely.equals_exact(engine.lines, fresh.lines, tolerance=0).all()


def test_graphs_of_one_zone_share_transformers_that_transform_as_fresh_ones():
    car, triangle = routing.get_profile("car"), routing.graph_from_roads(roads())
    built = CompiledGraph.from_graph(triangle, car)
    stored = CompiledGraph.from_arrays(built.to_arrays(), car)
    assert CompiledGraph.from_graph(triangle, car).to_metric is built.to_metric
    assert CompiledGraph.from_arrays(built.to_arrays(), car).to_lonlat is stored.to_lonlat
    crs = metric_crs(D[0])
    fresh = [Transformer.from_crs(*ends, always_xy=True) for ends in ((4326, crs), (crs, 4326))]
    for engine in (built, stored):
        xy = engine.to_metric.transform(*D)
        assert xy == fresh[0].transform(*D)
        assert engine.to_lonlat.transform(*xy) == fresh[1].transform(*xy)
    assert str(built.to_arrays()["crs"]) == built.to_metric.target_crs.to_string()


def test_the_cli_says_where_the_road_graph_came_from(tmp_path):
    table = pd.concat([roads(), roads().iloc[[1]].assign(highway="footway")], ignore_index=True)
    folder = cim.CityModel({"roads": table}, name="triangle").save(tmp_path / "city")
    pd.DataFrame({"id": ["i0"], "lon": [C[0]], "lat": [C[1]]}).to_csv(
        tmp_path / "i.csv", index=False
    )
    pd.DataFrame({"id": ["s0"], "lon": [A[0]], "lat": [A[1]]}).to_csv(
        tmp_path / "s.csv", index=False
    )
    said, routes = [], []
    for run in ("built", "cached"):
        result = CliRunner().invoke(
            app,
            ["dispatch", "--city", str(folder), "--incidents", str(tmp_path / "i.csv"),
             "--resources", str(tmp_path / "s.csv"), "--out", str(tmp_path / run)],
        )  # fmt: skip
        said.append(" ".join(result.output.split()))
        assert result.exit_code == 0, said[-1]
        routes.append(pd.read_csv(tmp_path / run / "routes.csv"))
    cache = " ".join(str(folder / CACHE_FILE).split())
    assert f"road graph: built and cached in {cache}" in said[0]
    assert f"road graph: read from {cache}" in said[1]
    assert all("left 1 of 4 road lines out" in text for text in said)  # the notes, both times
    pd.testing.assert_frame_equal(routes[0], routes[1])


def test_two_processes_building_at_once_leave_one_good_cache(folder):
    build = f"import cim; cim.CityModel.load({str(folder)!r}).router('car')"
    running = [subprocess.Popen([sys.executable, "-c", build]) for _ in range(2)]
    assert [process.wait(timeout=120) for process in running] == [0, 0]
    city = load(folder)
    assert metres(city) == pytest.approx(truth(), rel=1e-9)
    assert city.road_graph_cache.startswith("read from")
    assert sorted(p.name for p in (folder / "cache").iterdir()) == ["road_graph.npz"]
