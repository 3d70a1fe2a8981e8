from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import layers
from layers import crs

TINY_OSM = Path(__file__).parent / "data" / "tiny.osm"


def buildings(**columns) -> gpd.GeoDataFrame:
    data = {"id": ["b1", "b2"], "height_m": [12.0, 30.0], "use": ["residential", "commercial"]}
    data.update(columns)
    squares = [
        shapely.box(104.06, 30.65, 104.061, 30.651),
        shapely.box(104.07, 30.66, 104.071, 30.661),
    ]
    return gpd.GeoDataFrame(data, geometry=squares, crs=4326)


def facilities() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": ["f1", "f2"],
            "kind": ["fire_station", "hospital"],
            "name": ["消防站", "医院"],
            "units": [2, 1],
        },
        geometry=[shapely.Point(104.06, 30.65), shapely.Point(104.07, 30.66)],
        crs=4326,
    )


def test_every_design_kind_has_a_schema():
    assert set(layers.KINDS) == {
        "districts",
        "streets",
        "communities",
        "grid",
        "buildings",
        "roads",
        "facilities",
        "sensors",
        "waterlogging_points",
        "incidents",
        "addresses",
    }


def test_missing_column_names_the_column_and_what_the_kind_needs():
    with pytest.raises(layers.SchemaError, match=r"missing required column 'use'") as err:
        layers.validate(buildings().drop(columns="use"), "buildings")
    assert err.value.column == "use" and err.value.kind == "buildings"


def test_floors_stand_in_for_height():
    gdf = layers.validate(buildings().drop(columns="height_m").assign(floors=[4, 10]), "buildings")
    assert gdf["height_m"].tolist() == [12.0, 30.0]


def test_negative_heights_are_refused_with_their_rows():
    with pytest.raises(layers.SchemaError, match=r"'height_m' has 1 negative values \(rows 1\)"):
        layers.validate(buildings(height_m=[12.0, -3.0]), "buildings")


def test_no_crs_is_refused_never_guessed():
    with pytest.raises(layers.CRSError, match="no CRS"):
        layers.validate(buildings().set_crs(None, allow_override=True), "buildings")


def test_swapped_lat_lon_is_detected():
    swapped = buildings()
    swapped.geometry = shapely.transform(swapped.geometry.values, lambda xy: xy[:, ::-1])
    with pytest.raises(layers.CRSError, match=r"\(lat, lon\)"):
        layers.validate(swapped, "buildings")


def test_metres_labelled_as_degrees_are_refused():
    projected = buildings().to_crs(4544).set_crs(4326, allow_override=True)
    with pytest.raises(layers.CRSError, match="not degrees"):
        layers.validate(projected, "buildings")


def test_gcj02_labelled_as_wgs84_is_detected_against_the_roads(city):
    roads = city.layer("roads").iloc[::7].copy()
    shifted = roads.copy()
    shifted.geometry = gpd.GeoSeries(
        shapely.transform(
            roads.geometry.values,
            lambda xy: np.column_stack(crs.wgs84_to_gcj02(xy[:, 0], xy[:, 1])),
        ),
        index=roads.index,
    )
    with pytest.raises(layers.CRSError, match="source_crs='gcj02'"):
        layers.validate(shifted, "roads", reference=city.layer("roads"))
    fixed = layers.load("roads", shifted, source_crs="gcj02", reference=city.layer("roads"))
    assert layers.validate(roads, "roads", reference=city.layer("roads")) is not None
    offsets = fixed.geometry.to_crs(4544).distance(roads.geometry.to_crs(4544), align=True)
    assert offsets.max() < 0.5


def test_real_wgs84_layers_pass_the_gcj02_check(city):
    for name in ("buildings", "facilities", "addresses"):
        layers.validate(city.layer(name), city.kind_of(name), reference=city.layer("roads"))


def test_invalid_geometry_is_refused_with_the_repair():
    bowtie = shapely.Polygon(
        [(104.06, 30.65), (104.061, 30.651), (104.061, 30.65), (104.06, 30.651)]
    )
    gdf = buildings()
    gdf.loc[1, "geometry"] = bowtie
    with pytest.raises(
        layers.GeometryError, match=r"1 invalid geometries \(rows 1: Self-intersection"
    ) as err:
        layers.validate(gdf, "buildings")
    assert "make_valid" in str(err.value)


def test_empty_and_missing_geometries_are_refused():
    gdf = buildings()
    gdf.loc[0, "geometry"] = shapely.Polygon()
    with pytest.raises(layers.GeometryError, match="no geometry or an empty one"):
        layers.validate(gdf, "buildings")


def test_wrong_geometry_type_is_named():
    gdf = facilities()
    gdf.geometry = [shapely.box(104.06, 30.65, 104.061, 30.651)] * 2
    with pytest.raises(layers.GeometryError, match="expected Point geometries but found 2 Polygon"):
        layers.validate(gdf, "facilities")


def test_empty_layer_is_refused():
    with pytest.raises(layers.EmptyLayerError, match="empty"):
        layers.validate(facilities().iloc[:0], "facilities")


def test_unknown_kind_lists_the_kinds():
    with pytest.raises(layers.LayerError, match="choose one of districts"):
        layers.validate(facilities(), "stations")


def test_facility_kind_units_and_ids_are_checked():
    with pytest.raises(layers.SchemaError, match="outside fire_station"):
        layers.validate(facilities().assign(kind=["fire_station", "garage"]), "facilities")
    with pytest.raises(layers.SchemaError, match="whole numbers"):
        layers.validate(facilities().assign(units=[1.5, 2]), "facilities")
    with pytest.raises(layers.SchemaError, match="must be unique"):
        layers.validate(facilities().assign(id=["f1", "f1"]), "facilities")


def test_incident_times_must_parse():
    incidents = facilities()[["geometry"]].assign(
        id=["i1", "i2"], kind="fire", priority=1, reported_at=["2026-07-15 08:00", "yesterday"]
    )
    with pytest.raises(
        layers.SchemaError, match=r"'reported_at' has missing or unreadable times \(rows 1\)"
    ):
        layers.validate(incidents, "incidents")


def test_roads_are_normalised():
    line = shapely.LineString([(104.06, 30.65), (104.06, 30.66)])
    roads = gpd.GeoDataFrame(
        {
            "road_class": ["主干路", "支路"],
            "oneway": ["no", "-1"],
            "name": ["a", "b"],
            "maxspeed": [None, "30"],
        },
        geometry=[line, line],
        crs=4326,
    )
    gdf = layers.validate(roads, "roads")
    assert gdf["road_class"].tolist() == ["arterial", "branch"]
    assert gdf["oneway"].tolist() == [False, True]
    assert gdf.geometry.iloc[1].coords[0] == line.coords[-1]
    with pytest.raises(layers.SchemaError, match="unknown values"):
        layers.validate(roads.assign(road_class=["高速", "支路"]), "roads")
    with_nodes = layers.validate(roads.assign(u=[1, 1], v=[2, 2]), "roads")
    assert with_nodes[["u", "v"]].values.tolist() == [[1, 2], [2, 1]]


def test_blank_address_parts_become_none(city):
    addresses = city.layer("addresses").head(3).copy()
    addresses["town"] = ["", "  ", None]
    assert layers.validate(addresses, "addresses")["town"].tolist() == [None, None, None]


def test_cgcs2000_is_accepted_as_wgs84():
    assert (
        layers.validate(facilities().set_crs(4490, allow_override=True), "facilities").crs.to_epsg()
        == 4326
    )


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".parquet"])
def test_file_formats_round_trip(tmp_path, suffix):
    path = tmp_path / f"facilities{suffix}"
    if suffix == ".parquet":
        facilities().to_parquet(path)
    else:
        facilities().to_file(path)
    loaded = layers.load("facilities", path)
    assert loaded.geometry.geom_equals_exact(facilities().geometry, tolerance=1e-9).all()
    assert loaded["name"].tolist() == ["消防站", "医院"]


def test_csv_needs_a_source_crs_and_converts_gcj02(tmp_path):
    table = pd.DataFrame(
        {
            "id": ["f1"],
            "kind": ["hospital"],
            "name": ["医院"],
            "units": [1],
            "lng": [104.0681],
            "lat": [30.6570],
        }
    )
    path = tmp_path / "amap.csv"
    table.to_csv(path, index=False)
    with pytest.raises(layers.CRSError, match="source_crs"):
        layers.load("facilities", path)
    loaded = layers.load("facilities", path, source_crs="gcj02")
    expected = crs.gcj02_to_wgs84(104.0681, 30.6570)
    assert np.allclose([loaded.geometry.x[0], loaded.geometry.y[0]], expected)


def test_csv_with_garbage_coordinates_names_the_rows(tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"id": ["a", "b"], "lon": [104.0, "east"], "lat": [30.6, 30.7]}).to_csv(
        path, index=False
    )
    with pytest.raises(layers.SchemaError, match="rows 1"):
        layers.load("facilities", path, source_crs=4326)


def test_unknown_source_crs_is_explained():
    with pytest.raises(layers.CRSError, match="not a CRS pyproj knows"):
        layers.load("facilities", facilities(), source_crs="mars-2")


def test_from_osm_reads_drivable_roads_buildings_facilities_and_addresses():
    osm = layers.from_osm(TINY_OSM)
    roads = osm["roads"]
    # footway and private service road dropped; node 2 then simplified away
    assert sorted(roads["highway"]) == ["primary", "residential"]
    primary = roads.set_index("highway").loc["primary"]
    assert (
        (primary.u, primary.v) in ((1, 3), (3, 1))
        and not primary.oneway
        and primary.maxspeed == "60"
    )
    assert roads.set_index("highway").loc["residential"].oneway
    heights = osm["buildings"].set_index("id")["height_m"]
    assert heights["way/104"] == 30.0 and heights["way/105"] == 45.0
    assert sorted(osm["facilities"]["kind"]) == ["fire_station", "hospital"]
    address = osm["addresses"].iloc[0]
    assert (address.road, address.road_no, address.poi, address.town) == (
        "人民南路四段",
        "1号",
        "测试消防站",
        None,
    )
