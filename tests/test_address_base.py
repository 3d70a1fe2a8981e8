import geopandas as gpd
import pandas as pd
import pytest
import shapely

from cim.address import MATCH_LEVELS, AddressBase


@pytest.fixture(scope="module")
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
