import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cim.address import ADDRESS_FIELDS, parse, parse_many

DATA = Path(__file__).parent / "data"
_COLUMNS = [*ADDRESS_FIELDS, "division_code", "ambiguous", "error"]


def fields(text: str) -> dict:
    return {k: v for k, v in parse(text).as_dict().items() if v is not None}


@pytest.mark.parametrize(
    "text",
    [
        "三栋二单元五零一",
        "3栋2单元501室",
        "3-2-501",
        "叁栋贰单元501"[:0] + "3幢2单元501",
        "３栋２单元５０１",
    ],
)
def test_building_unit_room_written_many_ways_agree(text):
    assert fields(f"玉林小区{text}") == {
        "poi": "玉林小区",
        "building": "3栋",
        "unit": "2单元",
        "room": "501",
    }


def test_floors_and_towers():
    assert fields("3幢2单元5楼501") == {
        "building": "3栋",
        "unit": "2单元",
        "floor": "5层",
        "room": "501",
    }
    assert fields("1号楼1单元12层1203") == {
        "building": "1栋",
        "unit": "1单元",
        "floor": "12层",
        "room": "1203",
    }
    assert fields("天府三街199号B座1806") == {
        "road": "天府三街",
        "road_no": "199号",
        "building": "B座",
        "room": "1806",
    }


def test_road_sections_are_one_road():
    assert parse("人民南路四段").road == parse("人民南路4段").road == "人民南路四段"
    assert parse("二环路南三段8号").road == "二环路南三段"
    assert parse("天府大道北段1700号").road == "天府大道北段"


@pytest.mark.parametrize(
    ("text", "district"),
    [
        ("高新区天府三街", "成都高新技术产业开发区"),
        ("成都高新技术产业开发区天府三街", "成都高新技术产业开发区"),
        ("天府新区华阳街道", "天府新区"),
        ("郫县犀浦镇", "郫都区"),
        ("双流县东升街道", "双流区"),
        ("新津县五津街道", "新津区"),
    ],
)
def test_aliases_and_old_names_map_to_current_districts(text, district):
    assert parse(text).district == district


def test_higher_levels_are_inferred_from_lower_ones():
    a = parse("武侯区玉林北路2号")
    assert (a.province, a.city, a.district) == ("四川省", "成都市", "武侯区")
    b = parse("黄龙溪镇黄金路70号")
    assert (b.province, b.city, b.district, b.town) == ("四川省", "成都市", "双流区", "黄龙溪镇")
    c = parse("四川成都锦江区")
    assert (c.province, c.city, c.district) == ("四川省", "成都市", "锦江区")


def test_a_unique_community_gives_its_town():
    a = parse("玉石社区5号")
    assert (a.district, a.town, a.community) == ("龙泉驿区", "大面街道", "玉石社区")


def test_noise_is_dropped():
    assert fields("琴台路  Qintai Road 73号（青羊宫地铁站C口旁）") == {
        "road": "琴台路",
        "road_no": "73号",
    }
    assert fields("华星路5号附近") == {"road": "华星路", "road_no": "5号"}
    assert fields("杉板桥路与崔家店北一路交叉口东100米") == {"road": "杉板桥路"}
    assert fields("成都 横桥街 10 朝阳北苑")["poi"] == "朝阳北苑"


def test_roads_that_look_like_divisions():
    assert fields("春熙路") == {"road": "春熙路"}
    assert parse("锦江区春熙路街道").town == "春熙路街道"
    assert parse("督院街8号").road == "督院街" and parse("督院街8号").town is None
    assert parse("锦江区督院街街道").town == "督院街街道"
    assert parse("武侯祠大街231号").district is None
    assert parse("四川北路1号").province is None
    assert parse("玉林小区3栋").city is None


def test_addresses_outside_chengdu_parse_to_their_district():
    a = parse("北京市朝阳区建国路88号")
    assert (a.province, a.city, a.district, a.road, a.road_no) == (
        "北京市",
        "北京市",
        "朝阳区",
        "建国路",
        "88号",
    )
    assert parse("广东省深圳市南山区科技园").district == "南山区"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "empty"),
        ("", "no address characters"),
        ("   ", "no address characters"),
        ("😀🏠", "no address characters"),
        ("Chengdu Jinjiang District", "no Chinese characters"),
        ("成" * 10_000, "too long"),
        (42, "not text"),
        ("\x00\x07\x1b", "no address characters"),
    ],
)
def test_bad_input_never_raises_and_says_why(value, reason):
    result = parse(value)
    assert all(v is None for v in result.as_dict().values())
    assert reason in result.error


def test_parse_many_returns_one_row_per_input_with_errors():
    frame = parse_many(["武侯区玉林北路2号3-2-501", None, "", "武侯区玉林北路2号3-2-501"])
    assert list(frame.columns) == [*ADDRESS_FIELDS, "division_code", "ambiguous", "error"]
    assert len(frame) == 4
    assert frame.loc[0, "room"] == "501" and frame.loc[0, "division_code"] == "510107000000"
    assert frame.loc[1, "error"] == "empty" and frame.loc[1, "road"] is None
    assert frame.loc[2, "error"] == "no address characters"
    assert frame.loc[3].equals(frame.loc[0])


_address_chars = st.sampled_from(
    list("四川省成都市武侯区锦江桂溪街道社区村路街巷大道段号栋幢单元层楼室座附近旁对面与交叉口")
    + list("0123456789零一二三四五六七八九十百-()（）【】 ABCxyz😀\x00\u3000\u2028")
)


@settings(max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(), st.text(_address_chars, max_size=60)))
def test_fuzz_parse_never_raises(text):
    result = parse(text)
    assert not (result.error or "").startswith("unparseable"), "the parser itself raised"
    values = [v for v in result.as_dict().values() if v is not None]
    assert all(isinstance(v, str) and v for v in values)
    assert (result.error is None) == bool(values)


def test_division_names_hold_no_digits_so_a_batch_reads_each_text_head_once():
    # parse_many reads the divisions once per text before its first digit: that is only
    # right while no division name (nor alias) holds a digit or is a single character
    from cim.address.divisions import OLD_NAMES
    from cim.paths import DIVISIONS_CSV

    table = pd.read_csv(DIVISIONS_CSV, dtype=str, keep_default_na=False)
    names = {*table["name"], *table["short_name"], *OLD_NAMES}
    assert len(names) > 8000
    assert not [n for n in names if len(n) < 2 or any(c.isdigit() for c in n)]


@pytest.mark.parametrize("home", [None, "成都"])
def test_parse_many_agrees_with_parse_where_text_heads_are_shared(home):
    texts = [
        "成都 青羊 文庙前街1号",
        "成都 青羊 文庙前街2号3栋",
        "成都青羊文庙前街3号",
        "成都横桥街10号",
        "成都横桥街",
        "锦江区督院街8号",
        "锦江区督院街街道",
        "锦江区督院街街道5号",
        "武侯祠大街231号",
        "武侯区武侯祠大街1号",
        "青山区和平大道1号",
        "青山区和平大道2号",
        "四川北路1号",
        "郫县犀浦镇2号",
        "成都高新区天府三街199号B座1806",
        "成都高新区天府三街",
    ]
    frame = parse_many(texts, home=home)
    for i, text in enumerate(texts):
        expected = parse(text, home=home)
        assert frame.loc[i].tolist() == [getattr(expected, c) for c in frame.columns], text


@settings(max_examples=300, deadline=None)
@given(st.text(_address_chars, max_size=40))
def test_clean_leaves_only_ideographs_ascii_letters_digits_hyphens_and_spaces(text):
    # the parser tells text with no Chinese from the cleaned text being ASCII
    from cim.address.normalize import clean

    assert re.fullmatch(r"[\u4e00-\u9fffA-Za-z0-9\- ]*", clean(text))


def test_parse_many_reads_each_prefix_once_and_agrees_with_parse_on_every_labelled_text():
    # parse_many keeps how a batch's shared prefixes (湖南省娄底市冷水江市) read and reads on
    # from there; parse reads each text alone. Texts cut short share their prefixes with
    # different continuations (a short name, 青岛市南区, a prefix written twice …), and a
    # prefix may end inside a town's name (滨城区市 of 滨城区市中街道 and 滨城区市东街道).
    texts = ["青岛市南区中山路街道1号", "青岛市南区1号", "杭州余杭乔司街道", "杭州余杭塘路1号"]
    texts += ["山东省滨州市滨城区市中街道黄河五路1号", "山东省滨州市滨城区市东街道渤海七路1号"]
    for name in ("national_address_labels.csv", "chengdu_rural_address_labels.csv"):
        labelled = pd.read_csv(DATA / name, dtype=str, keep_default_na=False)["text"]
        texts += [t[:cut] for t in labelled for cut in (None, 9)]
    rows = parse_many(texts).to_numpy().tolist()
    assert rows == [[getattr(parse(t), c) for c in _COLUMNS] for t in texts]
