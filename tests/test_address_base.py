import geopandas as gpd
import pandas as pd
import pytest
import shapely

from cim.address import MATCH_LEVELS, AddressBase


@pytest.fixture(scope="session")
def base(city):
    return AddressBase.from_city(city)


def test_sample_addresses_geocode_back_to_their_own_point(city, base):
    addresses = city.layer("addresses")
    found = base.geocode(addresses["address"])
    gap = found.geometry.to_crs(4544).distance(addresses.geometry.to_crs(4544))
    door_or_finer = found["match_level"].isin(["room", "building", "road_no"])
    assert ((gap <= 30) & door_or_finer).mean() >= 0.95
    assert set(found["match_level"]) <= set(MATCH_LEVELS)


def test_one_place_written_several_ways_is_one_record():
    points = [
        shapely.Point(104.0700, 30.6400),
        shapely.Point(104.0701, 30.6401),
        shapely.Point(104.08, 30.65),
    ]
    layer = gpd.GeoDataFrame(
        {
            "id": ["a", "b", "c"],
            "address": [
                "武侯区人民南路4段1号",
                "成都市武侯区人民南路四段1号",
                "武侯区人民南路四段3号",
            ],
        },
        geometry=points,
        crs=4326,
    )
    base = AddressBase.from_layer(layer)
    assert len(base) == 2
    merged = base.records[base.records["road_no"] == "1号"].iloc[0]
    assert merged["source_ids"] == ["a", "b"]
    assert merged["standard"] == "四川省成都市武侯区人民南路四段1号"
    assert merged["code"].startswith("510107000000-")


def test_codes_follow_the_division_road_door_building_unit_room_structure():
    layer = gpd.GeoDataFrame(
        {"id": ["r"], "address": ["成都市武侯区玉林街道玉林北路2号3栋2单元501室"]},
        geometry=[shapely.Point(104.06, 30.63)],
        crs=4326,
    )
    record = AddressBase.from_layer(layer).records.iloc[0]
    assert record["code"] == "510107005000-0001-00002-003-02-00501-01"
    assert record["level"] == "room"


def test_geocode_falls_back_from_room_to_the_finest_known_unit(city, base):
    found = base.geocode(
        [
            "成都市金牛区永陵路10号永陵公园",
            "成都市金牛区永陵路",
            "成都市锦江区",
            "成都市",
            "四川省",
            "火星基地",
            None,
        ]
    )
    assert found["match_level"].tolist() == [
        "road_no",
        "road",
        "district",
        "city",
        "none",
        "none",
        "none",
    ]
    assert found["district"].iloc[0] == "金牛区"
    jinjiang = city.layer("districts").set_index("name").loc["锦江区", "geometry"]
    assert jinjiang.contains(found.geometry.iloc[2])
    assert found["reason"].iloc[6] == "empty"
    assert found.geometry.iloc[5] is None
    assert found["score"].is_monotonic_decreasing


def test_another_city_rules_records_out_and_a_wrong_district_costs_score(base):
    right, wrong_district, wrong_city = base.geocode(
        [
            "成都市金牛区永陵路10号永陵公园",
            "成都市青羊区永陵路10号永陵公园",
            "北京市朝阳区永陵路10号永陵公园",
        ]
    ).itertuples()
    assert right.match_level == wrong_district.match_level == "road_no"
    assert wrong_district.score < right.score
    assert wrong_city.match_level != "road_no"


def test_reverse_gives_the_units_and_the_nearest_address(base, city):
    addresses = city.layer("addresses").head(5)
    shifted = addresses.geometry.to_crs(4544).translate(10, 0).to_crs(4326)
    out = base.reverse(shifted)
    assert out["district_name"].notna().all()
    assert (out["distance_m"] <= 10.5).all()
    inside = city.layer("districts").set_index("code").geometry
    for point, code in zip(out.geometry, out["district_code"], strict=True):
        assert inside[code].contains(point)


def test_link_attaches_records_and_reports_the_rest(base):
    people = pd.DataFrame(
        {
            "person": ["p1", "p2", "p3", "p4"],
            "home": ["成都市金牛区永陵路10号永陵公园", "", "成都市锦江区", "🐼🐼"],
        }
    )
    result = base.link(people, address_col="home")
    assert result.linked["address_id"].iloc[0] is not None
    assert result.linked["district_name"].iloc[0] is not None
    assert list(result.report["row"]) == [1, 2, 3]
    assert result.report["reason"].iloc[0].startswith("unmatched")
    assert result.report["reason"].iloc[1] == "coarse: only matched at district level"
    with pytest.raises(KeyError, match="address_col"):
        base.link(people, address_col="address")


@pytest.fixture(scope="session")
def hangzhou():
    """A base of another city built from its own layers: address points, districts, streets."""
    texts = {
        "h1": ("杭州市西湖区灵隐街道法云弄22号", (120.1010, 30.2420)),
        "h2": ("杭州市滨江区长河街道江南大道588号恒鑫大厦A座1503", (120.2110, 30.1880)),
        "h3": ("临平乔司街道永西村5组", (120.2900, 30.3500)),
        "h4": ("法云弄16号", (120.1012, 30.2424)),  # no division written: its polygon says
    }
    addresses = gpd.GeoDataFrame(
        {"id": list(texts), "address": [t for t, _ in texts.values()]},
        geometry=[shapely.Point(xy) for _, xy in texts.values()],
        crs=4326,
    )
    districts = gpd.GeoDataFrame(
        {
            "code": ["330106000000", "330108000000", "330113000000"],
            "name": ["西湖区", "滨江区", "临平区"],
            "parent_code": ["330100000000"] * 3,
        },
        geometry=[
            shapely.box(120.0, 30.2, 120.15, 30.3),
            shapely.box(120.15, 30.15, 120.25, 30.22),
            shapely.box(120.25, 30.3, 120.35, 30.4),
        ],
        crs=4326,
    )
    streets = gpd.GeoDataFrame(
        {"code": ["330108003000"], "name": ["长河街道"], "parent_code": ["330108000000"]},
        geometry=[shapely.box(120.19, 30.17, 120.23, 30.2)],
        crs=4326,
    )
    return AddressBase.from_layer(
        addresses, districts=districts, streets=streets, home="浙江省杭州市"
    )


def test_a_base_of_another_city_is_built_from_its_own_layers(hangzhou):
    records = hangzhou.records.set_index("standard")
    assert hangzhou.cities == {"杭州市"}
    assert records.loc["浙江省杭州市西湖区法云弄16号", "code"].startswith("330106000000-")
    assert records.loc["浙江省杭州市临平区乔司街道永西村5组", "community"] == "永西村5组"
    found = hangzhou.geocode(
        ["西湖区法云弄22号", "恒鑫大厦A座1503", "滨江区长河街道江陵路1号", "乔司街道永西村5组"]
    )
    assert found["match_level"].tolist() == ["road_no", "building", "town", "community"]
    assert found["standard"].iloc[0] == "浙江省杭州市西湖区灵隐街道法云弄22号"
    assert shapely.box(120.19, 30.17, 120.23, 30.2).contains(found.geometry.iloc[2])  # 长河街道


def test_an_address_of_another_city_matches_nothing_not_even_a_road_of_the_same_name(hangzhou):
    found = hangzhou.geocode(["成都市武侯区法云弄22号", "北京市朝阳区法云弄22号", "法云弄22号"])
    assert found["match_level"].tolist() == ["none", "none", "road_no"]
    assert found["reason"].iloc[0] == "in 成都市, outside this base (杭州市)"
    assert found.geometry.iloc[:2].isna().all()


def test_road_points_are_those_of_the_roads_and_addresses_grouped_by_pandas(city, base):
    """The road points are grouped by name without pandas' groupby; they equal those
    grouped with it."""
    from cim.address.normalize import clean

    roads, records = city.layer("roads"), base.records
    named = roads[roads["name"].notna()]
    expected = {}
    for name, group in named.groupby(named["name"].map(lambda n: clean(str(n)).replace(" ", ""))):
        line = shapely.line_merge(shapely.union_all(group.geometry.values))
        expected[name] = (
            line.interpolate(0.5, normalized=True)
            if line.geom_type == "LineString"
            else line.representative_point()
        )
    for road, group in records[records["road"].notna()].groupby("road"):
        expected.setdefault(road, shapely.MultiPoint(group.geometry.values).centroid)
    assert len(expected) > len(named["name"].unique()) > 500  # roads, and roads only addressed
    assert base._roads.keys() == expected.keys()
    assert all(base._roads[name].equals_exact(expected[name], 0) for name in expected)
