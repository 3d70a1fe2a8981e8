"""3D city model interop: CityJSON out and in, 3D Tiles out, buildings with real heights.

The sample city is exported once per run (``made_once``), through the command line, and
every check reads those files. cjio's own validation needs the ``cjvalpy`` module, which the
package registries here do not have for this Python (only 0.2.1, for Python ≤ 3.10 and
CityJSON 1.1), and no package ships the CityJSON 2.0 JSON schemas; so a CityJSON file is
checked by ``tools/validate_cityjson.py`` (cityjson-lib, then the rules cjval adds to its
schemas and val3dity's first ones for solids). The official 3d-tiles-validator is not on the
npm registry here; a tileset is checked by ``tools/validate_tileset.mjs``, which runs the
Khronos glTF-Validator on every tile.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer

import layers
from cim.interop.cityjson import read_cityjson, to_cityjson
from cim.interop.heights import read_buildings
from cim.interop.tiles import to_3dtiles
from cim.model import CityModel
from tests.conftest import near_color

TOOLS = Path(__file__).parent.parent / "tools"


@pytest.fixture(scope="session")
def cityjson_export(made_once, invoke):
    """The sample city written by ``cim export cityjson`` once per run: (path, its output)."""

    def make(folder: Path) -> str:
        result = invoke("export", "cityjson", "--out", folder / "city.city.json")
        assert result.exit_code == 0, result.output
        return result.output

    folder, output = made_once("cityjson_export", make)
    return folder / "city.city.json", output


@pytest.fixture(scope="session")
def cityjson_document(cityjson_export) -> dict:
    return json.loads(cityjson_export[0].read_text(encoding="utf-8"))


CHECKS = importlib.util.spec_from_file_location("validate_cityjson", TOOLS / "validate_cityjson.py")
cityjson_checks = importlib.util.module_from_spec(CHECKS)
CHECKS.loader.exec_module(cityjson_checks)
cityjson_errors, shell_volume = cityjson_checks.cityjson_errors, cityjson_checks.shell_volume
points_of, shells, area_vector = (
    cityjson_checks.points_of,
    cityjson_checks.shells,
    cityjson_checks.area_vector,
)


def test_cim_export_cityjson_writes_a_valid_cityjson_2_file(cityjson_export, cityjson_document):
    path, output = cityjson_export
    # a process of its own: importing cjio makes every json.dumps print 6 decimals
    checked = subprocess.run(
        [sys.executable, str(TOOLS / "validate_cityjson.py"), str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    report = checked.stdout
    assert "cjio: CityJSON 2.0, EPSG 4544" in report
    assert "5580 city objects (800 Building, 512 CityObjectGroup, 4268 Road)" in report
    assert report.rstrip().endswith("0 errors")
    assert cityjson_document["metadata"]["referenceSystem"].endswith("/EPSG/0/4544")
    assert cityjson_document["transform"]["scale"] == [0.001] * 3
    assert "800 Building" in output and "0 buildings left out" in output


def test_a_broken_file_fails_the_checks(cityjson_document):
    """The checks above can fail: a flipped wall, a child without its parent."""
    objects = cityjson_document["CityObjects"]
    building = json.loads(json.dumps(objects["relation/3228848"]))
    building.pop("parents")
    assert cityjson_errors({**cityjson_document, "CityObjects": {"b": building}}) == []
    wall = building["geometry"][0]["boundaries"][0][1]
    wall[0] = wall[0][::-1]
    group = {"type": "CityObjectGroup", "children": ["b"]}  # and b does not name it
    errors = cityjson_errors({**cityjson_document, "CityObjects": {"b": building, "g": group}})
    assert any("not closed" in e for e in errors) and any(
        "without it as parent" in e for e in errors
    )


def test_buildings_are_lod1_solids_with_semantics_and_attributes(cityjson_document):
    objects = cityjson_document["CityObjects"]
    building = objects["way/459158599"]  # the one building with an OSM height tag
    geometry = building["geometry"][0]
    assert (geometry["type"], geometry["lod"]) == ("Solid", "1")
    kinds = [s["type"] for s in geometry["semantics"]["surfaces"]]
    assert kinds == ["GroundSurface", "WallSurface", "RoofSurface"]
    assert building["attributes"]["measuredHeight"] == 15
    assert building["attributes"]["heightEstimated"] is False
    from_floors = objects["way/342661916"]["attributes"]  # building:levels=13
    assert from_floors["heightEstimated"] is True and "measuredHeight" not in from_floors
    assert from_floors["storeysAboveGround"] == 13
    linked = objects["relation/3228848"]["attributes"]
    assert linked["addressCodes"] == ["510105000000-0000-00000-000-00-00000-02"]
    assert linked["address"] == "四川省成都市青羊区四川科技馆"
    two = [o for o in objects.values() if len(o.get("attributes", {}).get("addressIds", [])) > 1]
    assert two, "一标多实: some buildings carry two standard addresses"
    district = objects["district-510104000000"]
    assert district["type"] == "CityObjectGroup" and district["attributes"]["name"] == "锦江区"
    assert "district-510104000000" in objects[district["children"][0]]["parents"]
    road = next(o for o in objects.values() if o["type"] == "Road")
    assert road["geometry"][0]["type"] == "MultiLineString"


def test_lod1_volumes_equal_footprint_area_times_height(city, cityjson_document):
    points = points_of(cityjson_document) - cityjson_document["transform"]["translate"]
    buildings = city.layer("buildings").set_index("id").to_crs(4544)
    checked = 0
    for oid, entry in cityjson_document["CityObjects"].items():
        if entry["type"] != "Building":
            continue
        geometry = entry["geometry"][0]
        found = list(shells(geometry))
        ground = [  # the surfaces typed GroundSurface (0), each shell's
            surface
            for shell, kinds in zip(found, _kinds(geometry), strict=True)
            for surface, kind in zip(shell, kinds, strict=True)
            if kind == 0
        ]
        area = -sum(area_vector(points[np.asarray(r)])[2] for s in ground for r in s)
        height = buildings.at[oid, "height_m"]
        volume = sum(shell_volume(s, points) for s in found)
        assert volume == pytest.approx(area * height, rel=1e-9), oid
        footprint = buildings.geometry[oid]  # moved at most 0.5 mm a vertex onto the grid
        assert area == pytest.approx(footprint.area, abs=footprint.length * 0.001), oid
        checked += 1
    assert checked == 800


def _kinds(geometry: dict) -> list:
    values = geometry["semantics"]["values"]
    return values if geometry["type"] == "Solid" else [v[0] for v in values]


def test_round_trip_gives_the_footprints_within_1_cm_and_the_same_heights(city, cityjson_export):
    back = read_cityjson(cityjson_export[0])
    assert back.source_crs == "EPSG:4544" and back.skipped.empty
    before = city.layer("buildings").set_index("id")
    after = back.buildings.set_index("id").loc[before.index]
    gap = before.geometry.to_crs(4544).hausdorff_distance(after.geometry.to_crs(4544))
    assert gap.max() < 0.01
    assert after["height_m"].tolist() == before["height_m"].tolist()
    assert after["use"].tolist() == before["use"].tolist()
    assert after["height_source"].tolist() == before["height_source"].tolist()
    assert back.measured == 1 and back.estimated == 799


def _cityjson(objects: dict, vertices: list, epsg: int | None, translate=(0, 0, 0)) -> dict:
    document = {
        "type": "CityJSON",
        "version": "2.0",
        "transform": {"scale": [0.01, 0.01, 0.01], "translate": list(translate)},
        "CityObjects": objects,
        "vertices": vertices,
    }
    if epsg:
        document["metadata"] = {"referenceSystem": f"https://www.opengis.net/def/crs/EPSG/0/{epsg}"}
    return document


# a 10 m x 8 m house, walls 6 m, ridge 9 m along x, in cm under the transform
HOUSE = [[0, 0, 0], [1000, 0, 0], [1000, 800, 0], [0, 800, 0]]
HOUSE += [[0, 0, 600], [1000, 0, 600], [1000, 800, 600], [0, 800, 600]]
HOUSE += [[0, 400, 900], [1000, 400, 900]]
GROUND_AND_WALLS = [
    [[0, 3, 2, 1]],
    [[0, 1, 5, 4]],
    [[1, 2, 6, 9, 5]],
    [[2, 3, 7, 6]],
    [[3, 0, 4, 8, 7]],
]
GABLED = [[*GROUND_AND_WALLS, [[4, 5, 9, 8]], [[8, 9, 6, 7]]]]


def test_lod2_buildings_read_from_ground_surfaces_or_their_projection(tmp_path):
    semantics = {
        "surfaces": [{"type": "GroundSurface"}, {"type": "WallSurface"}, {"type": "RoofSurface"}],
        "values": [[0, 1, 1, 1, 1, 2, 2]],
    }
    lod2 = {"type": "Solid", "lod": "2.2", "boundaries": GABLED, "semantics": semantics}
    plain = {"type": "Solid", "lod": "2", "boundaries": GABLED}  # no semantics
    objects = {
        "house": {
            "type": "Building",
            "geometry": [lod2],
            "attributes": {"function": "residential"},
        },
        "barn": {"type": "Building", "children": ["barn-1"]},
        "barn-1": {"type": "BuildingPart", "parents": ["barn"], "geometry": [plain]},
        "empty": {"type": "Building"},
    }
    # Wuhan, CGCS2000 zone 114E (EPSG:4547): the coordinates are placed there
    path = tmp_path / "wuhan.city.json"
    translate = (539000.0, 3376000.0, 20.0)
    path.write_text(json.dumps(_cityjson(objects, HOUSE, 4547, translate)), encoding="utf-8")
    found = read_cityjson(path)
    buildings = found.buildings.set_index("id")
    assert found.source_crs == "EPSG:4547"
    assert 114.0 < buildings.geometry["house"].centroid.x < 114.8  # read from metadata
    area = buildings.geometry.to_crs(4547).area
    assert area["house"] == pytest.approx(80.0, abs=0.01) and area["barn"] == pytest.approx(
        80.0, abs=0.01
    )
    assert (
        buildings.loc["house", "height_m"] == 9.0 and buildings.loc["house", "use"] == "residential"
    )
    assert found.skipped[["id", "reason"]].values.tolist() == [["empty", "no geometry"]]


def test_a_cityjson_file_without_a_crs_is_refused_unless_one_is_given(tmp_path):
    objects = {
        "house": {
            "type": "Building",
            "geometry": [{"type": "Solid", "lod": "2", "boundaries": GABLED}],
        }
    }
    path = tmp_path / "nocrs.city.json"
    path.write_text(json.dumps(_cityjson(objects, HOUSE, None, (409700.0, 3392000.0, 0))), "utf-8")
    with pytest.raises(layers.CRSError, match="never guessed; pass source_crs"):
        read_cityjson(path)
    found = read_cityjson(path, source_crs="EPSG:4544")
    assert 104.0 < found.buildings.geometry.iloc[0].centroid.x < 104.1


def test_buildings_without_height_or_footprint_are_reported_not_dropped(tmp_path):
    lon, lat = 104.066, 30.657
    speck = shapely.box(lon, lat, lon + 3e-9, lat + 3e-9)  # 0.3 mm a side: a point on a mm grid
    buildings = gpd.GeoDataFrame(
        {"id": ["ok", "nohigh", "speck"], "height_m": [12.0, None, 9.0], "use": "residential"},
        geometry=[
            shapely.box(lon, lat, lon + 0.0002, lat + 0.0002),
            shapely.box(lon + 0.001, lat, lon + 0.0012, lat + 0.0002),
            speck,
        ],
        crs=4326,
    )
    done = to_cityjson(CityModel({"buildings": buildings}), tmp_path / "few.city.json")
    assert done.counts == {"Building": 1}
    assert dict(zip(done.skipped["id"], done.skipped["reason"], strict=True)) == {
        "nohigh": "no height: height_m and floors are empty",
        "speck": "footprint collapses on the millimetre grid",
    }


def test_lod0_footprints_come_back_with_measured_heights_or_floors(tmp_path):
    lon, lat = 104.066, 30.657
    buildings = gpd.GeoDataFrame(
        {
            "id": ["tagged", "levels"],
            "height_m": [15.0, 9.0],
            "floors": [None, 3],
            "height_source": ["osm:height", "osm:building:levels"],
            "use": "residential",
        },
        geometry=[shapely.box(lon + d, lat, lon + d + 0.0002, lat + 0.0002) for d in (0, 0.001)],
        crs=4326,
    )
    done = to_cityjson(CityModel({"buildings": buildings}), tmp_path / "lod0.city.json", lod=0)
    back = read_cityjson(done.path).buildings.set_index("id")
    assert back["height_m"].tolist() == [15.0, 9.0]  # measuredHeight; floors × 3 m
    assert back["height_estimated"].tolist() == [False, True]


WUHAN = Path(__file__).parent / "data" / "wuhan_guanggu_buildings.geojson"


def test_heights_from_a_gcj02_geojson_under_chinese_names_with_counts(tmp_path):
    from layers.crs import transform_geometries

    lon, lat = 104.066, 30.657
    boxes = [
        shapely.box(lon + i * 0.001, lat, lon + i * 0.001 + 0.0003, lat + 0.0003) for i in range(4)
    ]
    bowtie = shapely.Polygon(
        [
            (lon, lat + 0.002),
            (lon + 0.0003, lat + 0.0023),
            (lon + 0.0003, lat + 0.002),
            (lon, lat + 0.0023),
        ]
    )
    amap = gpd.GeoDataFrame(
        {
            "编号": ["a", "b", "c", "d", "e"],
            "高度": ["24米", None, None, "0", 30.0],
            "层数": [8, 5, None, None, 10],
        },
        geometry=list(transform_geometries([*boxes, bowtie], "wgs84", "gcj02")),
        crs=4326,  # GeoJSON says WGS84 whatever the coordinates are
    )
    path = tmp_path / "amap_buildings.geojson"
    amap.to_file(path)
    found = read_buildings(path, source_crs="gcj02")
    b = found.buildings.set_index("id")
    assert b["height_m"].tolist()[:2] == [24.0, 15.0] and b["height_m"].isna().tolist()[2:] == [
        True,
        True,
    ]
    assert b["height_source"].tolist()[:2] == ["file:高度", "file:层数"]
    assert (found.measured, found.estimated, found.missing) == (1, 1, 2)
    assert found.skipped[["id", "reason"]].values[0, 0] == "e"
    assert found.skipped["reason"].iloc[0].startswith("footprint invalid: Self-intersection")
    moved = (
        gpd.GeoSeries(boxes, crs=4326)
        .to_crs(4544)
        .distance(gpd.GeoSeries(b.geometry.to_numpy(), crs=4326).to_crs(4544), align=False)
    )
    assert moved.max() < 0.5  # GCJ-02 undone: the raw coordinates lie ~500 m away
    assert (
        "1 heights measured, 1 estimated (from floors or otherwise), 2 without a height; 1 left out"
        in found.summary()
    )


def test_heights_from_osm_tags_and_a_second_city():
    osm = read_buildings(Path(__file__).parent / "data" / "tiny.osm")
    assert set(osm.buildings["height_source"].dropna()) == {"osm:height", "osm:building:levels"}
    assert (osm.measured, osm.estimated) == (1, 1)
    wuhan = read_buildings(WUHAN)
    assert (wuhan.measured, wuhan.estimated, wuhan.missing) == (87, 0, 178)  # one height is 0 m
    assert wuhan.buildings.crs.to_epsg() == 4326 and wuhan.skipped.empty


# -- 3D Tiles ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiles_validator() -> list[str]:
    """``node tools/validate_tileset.mjs``, its npm packages installed by ``npm ci`` if missing.

    Skipped without Node, unless CIM_REQUIRE_NODE is set (as .ci/run does): then a failure.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        message = "no Node.js / npm found (apt-get install nodejs npm) to run the tileset validator"
        if os.environ.get("CIM_REQUIRE_NODE"):
            pytest.fail(message)
        pytest.skip(message)
    with open(TOOLS / ".npm-ci.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (TOOLS / "node_modules" / "gltf-validator" / "package.json").exists():
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(TOOLS)],
                check=True,
                capture_output=True,
            )
    return [node, str(TOOLS / "validate_tileset.mjs")]


def validate_tileset(validator: list[str], tileset: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*validator, str(tileset)], capture_output=True, text=True, check=False)


@pytest.fixture(scope="session")
def tileset_export(made_once, invoke):
    """The sample city written by ``cim export 3dtiles`` once per run: (tileset.json, output)."""

    def make(folder: Path) -> str:
        result = invoke("export", "3dtiles", "--out", folder / "tiles")
        assert result.exit_code == 0, result.output
        return result.output

    folder, output = made_once("tileset_export", make)
    return folder / "tiles" / "tileset.json", output


def read_b3dm(path: Path) -> tuple[dict, dict, dict, np.ndarray, np.ndarray]:
    """Feature table, batch table, glTF JSON, positions and batch ids of a b3dm."""
    data = path.read_bytes()
    magic, _, length, ft, _, bt, _ = struct.unpack_from("<4sIIIIII", data)
    assert magic == b"b3dm" and length == len(data)
    feature = json.loads(data[28 : 28 + ft])
    batch = json.loads(data[28 + ft : 28 + ft + bt])
    glb = data[28 + ft + bt :]
    size = struct.unpack_from("<I", glb, 12)[0]
    gltf = json.loads(glb[20 : 20 + size])
    binary = glb[28 + size :]

    def accessor(name: str) -> np.ndarray:
        acc = gltf["accessors"][gltf["meshes"][0]["primitives"][0]["attributes"][name]]
        view = gltf["bufferViews"][acc["bufferView"]]
        width = {"VEC3": 3, "SCALAR": 1}[acc["type"]]
        raw = binary[view["byteOffset"] : view["byteOffset"] + view["byteLength"]]
        return np.frombuffer(raw, dtype=np.float32).reshape(acc["count"], width)

    return feature, batch, gltf, accessor("POSITION"), accessor("_BATCHID").ravel()


def test_cim_export_3dtiles_passes_the_tileset_validator(tileset_export, tiles_validator):
    tileset, output = tileset_export
    assert "800 buildings in" in output and "0 buildings left out" in output
    checked = validate_tileset(tiles_validator, tileset)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "800 models" in checked.stdout
    assert checked.stdout.rstrip().endswith("0 errors, 0 warnings, 0 infos")


def test_the_tileset_validator_reports_a_broken_tile(tmp_path, tiles_validator):
    house = gpd.GeoDataFrame(
        {"id": ["h1", "h2"], "height_m": [12.0, 20.0], "use": "residential"},
        geometry=[
            shapely.box(104.066, 30.657, 104.0662, 30.6572),
            shapely.box(104.067, 30.657, 104.0672, 30.6572),
        ],
        crs=4326,
    )
    done = to_3dtiles(CityModel({"buildings": house}), tmp_path / "tiles")
    assert validate_tileset(tiles_validator, done.path).returncode == 0
    tile = done.path.parent / "tiles" / "0.b3dm"
    data = bytearray(tile.read_bytes())
    data[28 : 28 + 20] = json.dumps({"BATCH_LENGTH": 3}).encode().ljust(20)  # 3 models, 2 rows
    tile.write_bytes(bytes(data))
    broken = validate_tileset(tiles_validator, done.path)
    assert broken.returncode == 1 and "has 2 values for 3 models" in broken.stdout


def test_tiles_carry_every_building_placed_on_the_ellipsoid_with_its_attributes(
    city, tileset_export
):
    tileset_path, _ = tileset_export
    tileset = json.loads(tileset_path.read_text(encoding="utf-8"))
    matrix = np.asarray(tileset["root"]["transform"]).reshape(4, 4).T  # column-major
    ecef_to_lla = Transformer.from_crs(4978, 4979, always_xy=True)
    buildings = city.layer("buildings").set_index("id")
    seen = []
    for path in sorted((tileset_path.parent / "tiles").glob("*.b3dm")):
        feature, batch, _, positions, batch_ids = read_b3dm(path)
        assert len(batch["id"]) == feature["BATCH_LENGTH"] == int(batch_ids.max()) + 1
        seen += batch["id"]
        z_up = positions.astype(float) @ np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]]).T
        ecef = z_up @ matrix[:3, :3].T + matrix[:3, 3]
        lon, lat, height = ecef_to_lla.transform(*ecef.T)
        first = batch["id"][0]
        mine = batch_ids == 0
        minx, miny, maxx, maxy = buildings.geometry[first].bounds
        assert minx - 1e-6 < lon[mine].min() and lon[mine].max() < maxx + 1e-6
        assert miny - 1e-6 < lat[mine].min() and lat[mine].max() < maxy + 1e-6
        assert height[mine].min() == pytest.approx(0, abs=0.02)
        assert height[mine].max() == pytest.approx(buildings.at[first, "height_m"], abs=0.02)
        assert batch["height_m"] == buildings.loc[batch["id"], "height_m"].tolist()
        corners = positions.astype(float).reshape(-1, 3, 3)  # closed and facing out: V > 0
        volume = (
            np.einsum("ij,ij->i", corners[:, 0], np.cross(corners[:, 1], corners[:, 2])).sum() / 6
        )
        metric = buildings.loc[batch["id"]].to_crs(4544)
        assert volume == pytest.approx((metric.area * metric["height_m"]).sum(), rel=1e-3)
    assert sorted(seen) == sorted(buildings.index)
    assert {"use", "height_estimated", "address_codes", "synthetic"} <= set(batch)


def test_a_second_city_goes_through_both_formats(tmp_path, tiles_validator):
    """Wuhan's Optics Valley: real heights where OSM has them, the rest reported."""
    from cityjson_lib import CityModel as CityJSONModel

    wuhan = CityModel({"buildings": read_buildings(WUHAN).buildings}, name="wuhan")
    assert wuhan.metric_crs.to_epsg() == 4547  # CGCS2000 zone of 114°E
    written = to_cityjson(wuhan, tmp_path / "wuhan.city.json")
    assert written.counts == {"Building": 87} and len(written.skipped) == 178
    assert set(written.skipped["reason"]) == {"no height: height_m and floors are empty"}
    document = json.loads(written.path.read_text(encoding="utf-8"))
    CityJSONModel.parse_document_bytes(written.path.read_bytes())
    assert cityjson_errors(document) == []
    tiles = to_3dtiles(wuhan, tmp_path / "tiles", max_per_tile=40)
    assert (tiles.buildings, tiles.tiles) == (87, 4)
    checked = validate_tileset(tiles_validator, tiles.path)
    assert checked.returncode == 0 and "0 errors, 0 warnings" in checked.stdout, checked.stdout


def test_the_tileset_map_draws_the_local_tiles_offline(tileset_export, render):
    """deck.gl's Tile3DLayer loads the tileset embedded in the page, with no request."""
    page = tileset_export[0].parent / "map.html"
    assert "map.html" in tileset_export[1]
    shown = render(
        page, evaluate="window.cimDeck.layerManager.getLayers()[0].state.tileset3d.tiles.length"
    )
    assert shown.offline, (shown.requests, shown.errors)
    assert shown.value == 10  # the ten b3dm tiles of the tileset, all loaded
    assert near_color(shown.pixels, [101, 111, 123], tolerance=12) > 2000  # the lit slate roofs


def test_gcj02_buildings_labelled_wgs84_are_refused_against_the_city(city, tmp_path):
    from layers.crs import transform_geometries

    sample = city.layer("buildings").iloc[::20][["id", "height_m", "geometry"]]
    shifted = sample.assign(geometry=transform_geometries(sample.geometry.values, "wgs84", "gcj02"))
    path = tmp_path / "amap.geojson"
    shifted.to_file(path)
    with pytest.raises(layers.CRSError, match="look like GCJ-02"):
        read_buildings(path, reference=city.references())
    found = read_buildings(path, source_crs="gcj02", reference=city.references())
    assert len(found.buildings) == len(sample) and found.source_crs == "gcj02"


def test_exact_json_keeps_full_floats_when_cjio_has_rounded_json(tmp_path):
    """cjio makes json.dumps print 6 decimals process-wide; glTF bounds and regions stay exact."""
    import json.encoder

    from cim.interop.exact_json import dumps

    rounded = type("Rounded", (float,), {"__repr__": lambda x: format(x, ".6f")})
    encoder = vars(json.encoder)
    saved = {k: encoder.get(k) for k in ("float", "c_make_encoder")}
    encoder["float"], encoder["c_make_encoder"] = rounded, None  # what importing cjio does
    try:
        assert json.dumps(0.1234567891) == "0.123457" and dumps(0.1234567891) == "0.1234567891"
    finally:
        encoder["c_make_encoder"] = saved["c_make_encoder"]
        del encoder["float"]
    assert json.dumps(0.1234567891) == "0.1234567891"
