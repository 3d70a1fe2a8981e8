import json
import re

import geopandas as gpd
import numpy as np
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

import cim
import layers
import routing
from layers import crs


def test_sample_city_has_the_real_and_synthetic_layers(city):
    expected = {
        "roads",
        "districts",
        "streets",
        "communities",
        "grid",
        "sensors",
        "waterlogging_points",
    }
    assert set(city.layers) == expected | {"buildings", "facilities", "incidents", "addresses"}
    facilities = city.layer("facilities")
    real = facilities[~facilities["synthetic"]]
    assert (real["kind"] == "fire_station").sum() == 3 and (real["kind"] == "hospital").sum() == 28
    assert facilities.loc[facilities["synthetic"], "id"].str.startswith("synthetic/").all()
    assert city.layer("incidents")["synthetic"].all()
    assert len(city.layer("districts")) == 20 and len(city.layer("buildings")) == 800
    assert all(gdf.crs.to_epsg() == 4326 for gdf in city.layers.values())


def test_districts_were_converted_from_gcj02(city):
    # Amap publishes 6-decimal GCJ-02 vertices: converting ours back must land on that grid
    coords = shapely.get_coordinates(city.layer("districts").geometry.values)[::50]
    gcj = np.column_stack(crs.wgs84_to_gcj02(coords[:, 0], coords[:, 1]))
    assert np.abs(gcj * 1e6 - np.round(gcj * 1e6)).max() < 1e-3
    assert np.abs(coords * 1e6 - np.round(coords * 1e6)).max() > 0.1
    assert city.layer("districts")["code"].str.fullmatch(r"5101\d{2}000000").all()


def test_repr_lists_layers_with_rows_and_crs(city):
    text = repr(city)
    assert text.startswith("CityModel 'chengdu': 11 layers")
    assert re.search(r"\n  buildings +800 rows  EPSG:4326\n", text)


def test_save_and_load_round_trip_without_loss(city, tmp_path):
    path = city.save(tmp_path / "city")
    manifest = json.loads((path / "manifest.json").read_text("utf-8"))
    assert manifest["layers"]["buildings"]["rows"] == 800
    loaded = cim.CityModel.load(path)
    assert loaded.name == city.name and list(loaded.layers) == list(city.layers)
    for name, gdf in city.layers.items():
        assert_geodataframe_equal(loaded.layer(name), gdf)
        assert loaded.kind_of(name) == city.kind_of(name)
    assert loaded.graph.number_of_edges() == city.graph.number_of_edges()


def test_a_given_graph_is_saved_and_restored(city, tmp_path):
    graph = routing.graph_from_roads(city.layer("roads").head(200))
    model = cim.CityModel(
        {"fire_stations": city.layer("facilities").head(3)},
        kinds={"fire_stations": "facilities"},
        graph=graph,
    )
    loaded = cim.CityModel.load(model.save(tmp_path / "m"))
    assert loaded.kind_of("fire_stations") == "facilities"
    assert sorted(loaded.graph.nodes) == sorted(graph.nodes)
    a = sorted((u, v, round(d["length"], 6)) for u, v, d in graph.edges(data=True))
    b = sorted((u, v, round(d["length"], 6)) for u, v, d in loaded.graph.edges(data=True))
    assert a == b


def test_a_failed_save_leaves_the_previous_model_intact(city, tmp_path):
    path = city.save(tmp_path / "city")
    before = sorted(p.name for p in path.iterdir())
    broken = cim.CityModel({"facilities": city.layer("facilities")})
    broken._layers["facilities"] = broken._layers["facilities"].assign(bad=[object()] * 50)
    with pytest.raises((TypeError, ValueError)):  # pyarrow cannot store a plain object
        broken.save(path)
    assert sorted(p.name for p in path.iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["city"]


def test_loading_something_that_is_not_a_model_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a saved city model"):
        cim.CityModel.load(tmp_path)


def test_add_layer_catches_gcj02_labelled_as_wgs84(city):
    model = cim.CityModel({"roads": city.layer("roads")})
    planned = city.layer("roads").iloc[::5].copy()
    planned.geometry = gpd.GeoSeries(
        shapely.transform(
            planned.geometry.values,
            lambda xy: np.column_stack(crs.wgs84_to_gcj02(xy[:, 0], xy[:, 1])),
        ),
        index=planned.index,
        crs=4326,
    )
    with pytest.raises(layers.CRSError, match="GCJ-02"):
        model.add_layer("planned_roads", planned, kind="roads")
    model.add_layer("planned_roads", planned, kind="roads", source_crs="gcj02")
    assert "planned_roads" in model.layers


def test_unknown_layer_names_are_explained(city):
    with pytest.raises(KeyError, match="has no layer 'shelters'; it has: roads"):
        city.layer("shelters")
    with pytest.raises(layers.LayerError, match="say which kind"):
        cim.CityModel().add_layer("stations", city.layer("facilities"))


def test_routers_are_compiled_once_per_profile(city):
    assert city.router("ambulance") is city.router("ambulance")
    assert city.router("ambulance") is not city.router("police")


def test_synthetic_streets_and_communities_nest_in_the_real_districts(city):
    districts = city.layer("districts").set_index("code").to_crs(4544)
    streets = city.layer("streets").to_crs(4544)
    assert streets["synthetic"].all() and streets["code"].str.fullmatch(r"5101\d{5}000").all()
    for district_code, group in streets.groupby("parent_code"):
        district = districts.geometry[district_code]
        assert group.union_all().difference(district.buffer(1)).area < 1
        assert group.area.sum() == pytest.approx(district.area, rel=1e-3)
    communities = city.layer("communities").to_crs(4544)
    parents = streets.set_index("code").geometry
    inside = [
        parents[p].buffer(1).contains(g)
        for p, g in zip(communities["parent_code"], communities.geometry, strict=True)
    ]
    assert all(inside)
    assert set(communities["seed_source"]) == {
        "real place of that name",
        "random point (synthetic)",
    }


def test_the_unit_grid_codes_cells_under_their_community(city):
    grid = city.layer("grid")
    assert grid["code"].str.len().eq(16).all() and grid["code"].is_unique
    assert (grid["code"].str[:12] == grid["community_code"]).all()
    assert grid["area_m2"].max() == pytest.approx(10_000, rel=1e-6)
    assert grid["area_m2"].median() == pytest.approx(10_000, rel=1e-6)
    communities = city.layer("communities").set_index("code").geometry
    sample = grid.sample(50, random_state=1)
    assert all(
        communities[c].contains(g.representative_point())
        for c, g in zip(sample["community_code"], sample.geometry, strict=True)
    )


def test_sensors_are_synthetic_and_of_every_kind(city):
    sensors = city.layer("sensors")
    assert set(sensors["kind"]) == {
        "camera",
        "manhole",
        "smoke",
        "water_level",
        "air",
        "rain_gauge",
    }
    assert sensors["synthetic"].all() and set(sensors["status"]) == {"online", "offline"}


def test_reported_flood_points_keep_their_source_and_how_they_were_placed(city):
    points = city.layer("waterlogging_points")
    assert len(points) >= 5 and points["source_url"].str.startswith("http").all()
    assert points["located_by"].str.len().gt(0).all() and points["depth_cm"].isna().all()
    assert not points["synthetic"].any()
