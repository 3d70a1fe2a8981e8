"""Addresses from all of China: every town of the NBS table, short names read in context,
county-level cities, names that many provinces share, and prefixes written twice."""

import pytest

from cim.address import parse
from cim.address.divisions import divisions


def levels(text: str, **kwargs) -> tuple:
    a = parse(text, **kwargs)
    return a.province, a.city, a.district, a.town


def test_the_table_holds_every_town_of_china():
    index = divisions()
    towns = [d for d in index.by_code.values() if d.level == "town"]
    assert len(towns) > 39_000
    assert index.by_code["330113006000"].name == "乔司街道"  # 杭州市临平区
    assert index.full_name("620102001000") == "甘肃省兰州市城关区酒泉路街道"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a short district confirmed by its town (余杭 split in 2021: 乔司 is 临平区's now)
        ("杭州余杭乔司街道博卡路0号", ("浙江省", "杭州市", "余杭区", "乔司街道")),
        ("余杭乔司街道博卡路0号", ("浙江省", "杭州市", "余杭区", "乔司街道")),
        ("南京栖霞仙林街道文苑路0号", ("江苏省", "南京市", "栖霞区", "仙林街道")),
        # 栖霞 is also 烟台's 栖霞市: the town settles which
        ("栖霞仙林街道文苑路0号", ("江苏省", "南京市", "栖霞区", "仙林街道")),
        ("栖霞翠屏街道", ("山东省", "烟台市", "栖霞市", "翠屏街道")),
        ("绍兴越城北海街道中兴路0号", ("浙江省", "绍兴市", "越城区", "北海街道")),
        ("福州鼓楼华大街道", ("福建省", "福州市", "鼓楼区", "华大街道")),
    ],
)
def test_short_district_names_are_read_by_the_town_after_them(text, expected):
    assert levels(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("浙江省义乌市稠城街道工人北路0号", ("浙江省", "金华市", "义乌市", "稠城街道")),
        ("宁波慈溪浒山街道", ("浙江省", "宁波市", "慈溪市", "浒山街道")),
        ("江苏省昆山市玉山镇前进中路0号", ("江苏省", "苏州市", "昆山市", "玉山镇")),
        ("简阳市射洪坝街道", ("四川省", "成都市", "简阳市", "射洪坝街道")),
    ],
)
def test_county_level_cities_stay_at_the_district_level(text, expected):
    assert levels(text) == expected


def test_a_town_name_many_provinces_share_is_read_by_context_or_left_ambiguous():
    alone = parse("龙潭街道环湖路5号")
    assert (alone.town, alone.district, alone.city, alone.division_code) == (
        "龙潭街道",
        None,
        None,
        None,
    )
    assert alone.ambiguous.startswith("龙潭街道 is in 6 places")
    assert levels("龙潭街道环湖路5号", home="成都") == ("四川省", "成都市", "成华区", "龙潭街道")
    assert levels("吉林省吉林市龙潭区龙潭街道") == ("吉林省", "吉林市", "龙潭区", "龙潭街道")
    many = parse("湖北省城关镇")
    assert (many.province, many.town, many.district) == ("湖北省", "城关镇", None)
    assert many.ambiguous.startswith("城关镇 is in 11 places") and many.ambiguous.count(",") < 8


@pytest.mark.parametrize(
    "text",
    [
        "浙江省杭州市萧山区萧山区宁围街道市心北路0号",
        "浙江省杭州市萧山区浙江省杭州市萧山区宁围街道市心北路0号",
        "浙江省浙江省杭州市萧山区宁围街道市心北路0号",
    ],
)
def test_divisions_written_twice_are_read_once(text):
    a = parse(text)
    assert (a.district, a.town, a.road, a.road_no, a.poi) == (
        "萧山区",
        "宁围街道",
        "市心北路",
        "0号",
        None,
    )


@pytest.mark.parametrize(
    ("text", "town", "community"),
    [
        # 龙坞镇 was merged away: no table has it, nor the village
        ("浙江省杭州市西湖区龙坞镇葛衙庄村3组", "龙坞镇", "葛衙庄村3组"),
        ("临平乔司街道永西村5组", "乔司街道", "永西村5组"),
        ("浙江省杭州市萧山区义桥镇湘南村村民委员会", "义桥镇", "湘南村"),
        ("武进区 横林镇 崔桥村 委会 4组", "横林镇", "崔桥村4组"),
        ("湖南省长沙市浏阳市文家市镇 里仁村 十二组", "文家市镇", "里仁村12组"),
        ("西乡塘区 石埠街道 忠良村 委会 第五组", "石埠街道", "忠良村5组"),
        ("江苏省南京市江宁区禄口街道 溧塘社区居委会", "禄口街道", "溧塘社区"),
        ("宁波鄞州东钱湖镇韩岭村老街28号", "东钱湖镇", "韩岭村"),
        ("天津滨海新区 中塘镇 中塘工业区 中塘路 8号", "中塘镇", "中塘工业区"),
        ("沈阳市浑南区 浑河站东街道 浑南新区 全运路 109号", "浑河站东街道", "浑南新区"),
    ],
)
def test_towns_villages_and_parks_no_table_has_are_read_by_their_form(text, town, community):
    a = parse(text)
    assert (a.town, a.community) == (town, community)
    assert a.road in (None, "老街", "中塘路", "全运路")


def test_a_division_read_by_its_form_has_no_code_of_its_own():
    a = parse("浙江省杭州市西湖区龙坞镇葛衙庄村")
    assert a.division_code == "330106000000"  # 西湖区's: the town and village have none


@pytest.mark.parametrize(
    ("text", "poi"),
    [
        ("杭州拱墅区湖墅南路 186号 湖墅新村 8幢", "湖墅新村"),  # a housing estate
    ],
)
def test_estates_named_like_villages_stay_places(text, poi):
    a = parse(text)
    assert (a.community, a.poi) == (None, poi)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "西安雁塔 鱼化寨街道",
            ("陕西省", "西安市", "雁塔区", "鱼化寨街道"),
        ),  # 西安区 is elsewhere
        ("青岛市南区 中山路街道", ("山东省", "青岛市", "市南区", "中山路街道")),
        ("管城区 圃田乡", ("河南省", "郑州市", "管城回族区", "圃田乡")),
        ("云南大理州大理市 喜洲镇", ("云南省", "大理白族自治州", "大理市", "喜洲镇")),
        ("浦东 三林镇", ("上海市", "上海市", "浦东新区", "三林镇")),
        ("重庆市渝中区解放碑街道", ("重庆市", "重庆市", "渝中区", "解放碑街道")),
        ("杭州余杭", ("浙江省", "杭州市", "余杭区", None)),
    ],
)
def test_divisions_written_short_or_by_their_kind(text, expected):
    assert levels(text) == expected
