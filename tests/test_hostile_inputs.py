"""Input as it comes from the field: GBK tables and Shapefiles, odd layouts, text that is not text.

Every bad input gets a one-line error naming the file (and where in it); rows are named by
the line of the CSV file they start on (the header is line 1), in every command.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import pandas as pd
import pytest
import shapely

import layers
from cim.tables import read_points, read_table

NAMES = ["金牛区永陵消防站", "锦江区春熙路派出所", "武侯区人民医院"]
ADDRESSES = [
    "成都市金牛区永陵路10号永陵公园",
    "四川省成都市锦江区春熙路",
    "成都市武侯区人民南路四段",
]
LONLAT = [(104.0405, 30.6812), (104.0812, 30.6571), (104.0683, 30.6262)]


def facilities() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": ["f1", "f2", "f3"],
            "kind": ["fire_station", "police", "hospital"],
            "name": NAMES,
            "units": [2, 1, 3],
        },
        geometry=[shapely.Point(p) for p in LONLAT],
        crs=4326,
    )


def as_csv(frame: gpd.GeoDataFrame) -> str:
    return (
        pd.DataFrame(frame.drop(columns="geometry"))
        .assign(lon=frame.geometry.x, lat=frame.geometry.y)
        .to_csv(index=False)
    )


def one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, output
    return lines[0]


def test_a_gbk_csv_loads_as_a_layer_with_its_chinese_names(tmp_path):
    path = tmp_path / "facilities.csv"
    path.write_bytes(as_csv(facilities()).encode("gbk"))
    with pytest.warns(layers.TextEncodingWarning, match=r"facilities\.csv: read as GB18030"):
        loaded = layers.load("facilities", path, source_crs="EPSG:4326")
    assert loaded["name"].tolist() == NAMES
    assert loaded.attrs["encoding"] == "gb18030"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_unicode_csvs_load_without_a_note(tmp_path, encoding):
    path = tmp_path / "facilities.csv"
    path.write_bytes(as_csv(facilities()).encode(encoding))
    with warnings.catch_warnings():
        warnings.simplefilter("error", layers.TextEncodingWarning)
        loaded = layers.load("facilities", path, source_crs="EPSG:4326")
    assert loaded["name"].tolist() == NAMES and loaded.columns[0] == "id"


def test_address_parse_reads_a_gbk_table_and_says_so(invoke, tmp_path):
    source, out = tmp_path / "addresses.csv", tmp_path / "parsed.csv"
    source.write_bytes(
        pd.DataFrame({"id": ["a1", "a2", "a3"], "address": ADDRESSES})
        .to_csv(index=False)
        .encode("gbk")
    )
    result = invoke("address", "parse", source, out)
    assert result.exit_code == 0, result.output
    assert "note: addresses.csv: read as GB18030 (not UTF-8)" in result.output
    parsed = pd.read_csv(out, dtype=str, encoding="utf-8")
    assert parsed["address"].tolist() == ADDRESSES
    assert parsed["district"].tolist() == ["金牛区", "锦江区", "武侯区"]

    told = invoke("address", "parse", source, out, "--encoding", "gbk")
    assert told.exit_code == 0 and "note:" not in told.output
    assert pd.read_csv(out, dtype=str)["address"].tolist() == ADDRESSES

    wrong = invoke("address", "parse", source, out, "--encoding", "utf-8")
    offset = source.read_bytes().index(ADDRESSES[0][:1].encode("gbk"))
    assert wrong.exit_code == 1
    assert f"addresses.csv: not utf-8 text (byte 0xb3 at offset {offset})" in one_line(wrong.output)


def test_a_file_in_neither_encoding_is_refused_naming_the_byte(invoke, tmp_path):
    path = tmp_path / "calls.csv"
    path.write_bytes(b"id,address\n1,Chunxi Rd \xff\xfe 9\n")
    named = (
        f"calls.csv: neither UTF-8 (byte 0xff at offset {path.read_bytes().index(255)}) nor GB18030"
    )
    with pytest.raises(layers.InputError) as raised:
        read_table(path)
    message = str(raised.value)
    assert message.startswith(named) and "--encoding" in message and "\n" not in message
    result = invoke("address", "parse", path, tmp_path / "out.csv")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert named in one_line(result.output)
    with pytest.raises(layers.InputError, match=r"calls\.csv: neither UTF-8"):
        layers.load("addresses", path, source_crs=4326)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "calls.csv is empty; a table needs a header line"),
        (b"\n\n", "calls.csv is empty"),
        (b"id,address\n1,a\x00b\n", "calls.csv line 2: holds a NUL character"),
        ("id,地址\n1,春熙路".encode("utf-16-le"), "calls.csv line 1: holds a NUL character"),
        (b"id,address,id\n1,a,2\n", "calls.csv line 1: column 'id' appears more than once"),
        (b"\xef\xbb\xbfid\n\xff\n", r"calls.csv: not utf-8-sig text \(byte 0xff at offset 6\)"),
        (b"\xff\xfei\x00d\x00\n", r"calls.csv: not utf-16 text \(byte 0x0a at offset 6\)"),
        (b"id,address\n1,a\n2,b,c,d\n", "calls.csv line 3: 4 fields, but the header has 2"),
    ],
)
def test_tables_that_cannot_be_read_name_the_file_and_line(tmp_path, data, message):
    path = tmp_path / "calls.csv"
    path.write_bytes(data)
    with pytest.raises(layers.InputError, match=message):
        read_table(path)


def test_padding_and_blank_header_cells_from_excel_are_accepted(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text("id, address ,,\n1,春熙路,,\n2,,\n", encoding="utf-8")
    table = read_table(path)
    assert table.columns.tolist() == ["id", "address", "Unnamed: 2", "Unnamed: 3"]
    assert table["address"].tolist() == ["春熙路", None]


def test_markup_in_column_names_is_printed_not_interpreted(invoke, tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text("[/],[bold]\n1,2\n", encoding="utf-8")
    result = invoke("address", "parse", path, tmp_path / "out.csv")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "its columns are [/], [bold]" in one_line(result.output)


@pytest.fixture
def stations_shp(tmp_path, request):
    """The facilities as a Shapefile with attributes in ``request.param`` and no .cpg."""
    path = tmp_path / "stations.shp"
    facilities().to_file(path, encoding=request.param)
    path.with_suffix(".cpg").unlink()
    return path


@pytest.mark.parametrize(
    ("stations_shp", "read_as"), [("gbk", "GB18030"), ("utf-8", "UTF-8")], indirect=["stations_shp"]
)
def test_a_shapefile_without_cpg_reads_its_chinese_attributes(stations_shp, read_as):
    note = rf"stations\.shp: no \.cpg file; attributes read as {read_as}"
    with pytest.warns(layers.TextEncodingWarning, match=note):
        loaded = layers.load("facilities", stations_shp)
    assert loaded["name"].tolist() == NAMES
    assert loaded.attrs["encoding"] == read_as.lower()
    with pytest.warns(layers.TextEncodingWarning, match=note):
        points, bad = read_points(stations_shp, "resources")
    assert points["name"].tolist() == NAMES and bad.empty


@pytest.mark.parametrize("stations_shp", ["gbk"], indirect=True)
def test_a_shapefile_with_the_wrong_encoding_given_is_refused(stations_shp):
    with pytest.raises(layers.InputError, match=r"stations\.shp: its attributes are not utf-8"):
        layers.load("facilities", stations_shp, encoding="utf-8")
    assert layers.load("facilities", stations_shp, encoding="gbk")["name"].tolist() == NAMES


# Lines 2-3 hold one row (a quoted line break), line 4 is blank; lines 5 and 6 are bad rows
# for every command: no id and no address, then a repeated id with no readable address.
TRICKY = (
    "id,source,reported_at,text,address,lon,lat\n"
    'e1,patrol,2026-07-15 08:00,"路边着火\n冒烟",成都市锦江区春熙路,104.0705,30.6601\n'
    "\n"
    ",patrol,2026-07-15 08:01,x,,104.0705,30.6601\n"
    "e1,patrol,2026-07-15 08:02,x,🐼🐼,104.0705,30.6601\n"
)


def test_every_command_names_bad_rows_by_their_file_line(invoke, tmp_path):
    source = tmp_path / "calls.csv"
    source.write_text(TRICKY, encoding="utf-8")
    resources = tmp_path / "stations.geojson"
    facilities().to_file(resources)

    _, bad = read_points(source, "incidents")
    assert bad["row"].tolist() == ["line 5", "line 6"]
    assert bad["reason"].tolist() == ["no id", "id repeats an earlier row"]

    parse = invoke("address", "parse", source, tmp_path / "parsed.csv")
    assert parse.exit_code == 0, parse.output
    errors = pd.read_csv(tmp_path / "parsed.errors.csv")
    assert errors["row"].tolist() == ["line 5", "line 6"]

    ingest = invoke("events", "ingest", source, "--db", tmp_path / "events.db")
    assert ingest.exit_code == 0, ingest.output
    assert "left out: calls.csv line 5 (None): no id" in ingest.output
    assert "left out: calls.csv line 6 (e1): id repeats an earlier row" in ingest.output

    out = tmp_path / "dispatch"
    dispatch = invoke("dispatch", "--incidents", source, "--resources", resources, "--out", out)
    assert dispatch.exit_code == 0, dispatch.output
    assert "left out: calls.csv line 6 (e1): id repeats an earlier row" in dispatch.output
    assert pd.read_csv(out / "bad_rows.csv")["row"].tolist() == ["line 5", "line 6"]


def test_rows_of_other_files_are_named_as_features(tmp_path):
    path = tmp_path / "incidents.geojson"
    facilities().assign(id=["f1", None, "f3"]).to_file(path)
    _, bad = read_points(path, "incidents")
    assert bad["row"].tolist() == ["feature 2"] and bad["reason"].tolist() == ["no id"]


@pytest.mark.parametrize("stations_shp", ["gbk"], indirect=True)
def test_dispatch_reads_gbk_incidents_and_stations_and_says_so(invoke, stations_shp, tmp_path):
    incidents = tmp_path / "incidents.csv"
    incidents.write_bytes(
        "id,kind,lon,lat\n火1,fire,104.0705,30.6601\n火2,fire,104.0650,30.6500\n".encode("gbk")
    )
    out = tmp_path / "out"
    result = invoke("dispatch", "--incidents", incidents, "--resources", stations_shp, "--out", out)
    assert result.exit_code == 0, result.output
    assert "note: incidents.csv: read as GB18030 (not UTF-8)" in result.output
    assert "note: stations.shp: no .cpg file; attributes read as GB18030" in result.output
    routes = pd.read_csv(out / "routes.csv", dtype=str)
    assert sorted(routes["incident_id"]) == ["火1", "火2"]
    assert set(routes["resource_id"].dropna()) & {"f1", "f2", "f3"}
