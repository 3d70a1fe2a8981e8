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
        ("江苏省苏州市工业园区星湖街328号", "工业园区", None),  # a park where the town stands
        ("温州市瑞安市莘塍街道东新村0组00号", "莘塍街道", "东新村0组"),  # a 新村 with a group
    ],
)
def test_towns_villages_and_parks_no_table_has_are_read_by_their_form(text, town, community):
    a = parse(text)
    assert (a.town, a.community) == (town, community)
    assert a.road in (None, "老街", "中塘路", "全运路", "星湖街")


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


def details(text: str) -> dict:
    parts = ("road", "road_no", "poi", "building", "unit", "floor", "room")
    a = parse(text)
    return {k: getattr(a, k) for k in parts if getattr(a, k) is not None}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Shanghai lanes: the lane number, the place inside and the door in the lane
        (
            "浦东 三林镇 东明路 2318弄 三林苑 18号 602",
            {"road": "东明路", "road_no": "2318弄18号", "poi": "三林苑", "room": "602"},
        ),
        (
            "闵行区莘庄镇 莘建路 88弄 7号 301",
            {"road": "莘建路", "road_no": "88弄7号", "room": "301"},
        ),
        (
            "上海市普陀区 长寿路 155弄 2号楼 2304",
            {"road": "长寿路", "road_no": "155弄", "building": "2栋", "room": "2304"},
        ),
        ("嘉定 江桥镇 金园一路 0弄 0号", {"road": "金园一路", "road_no": "0弄0号"}),
        # road words that need the number after them, and lanes and segments of a road
        ("杭州市西湖区灵隐街道法云弄22号", {"road": "法云弄", "road_no": "22号"}),
        ("天津市和平区 五大道街道 睦南道 50号", {"road": "睦南道", "road_no": "50号"}),
        ("金牛区金府路下穿隧道", {"road": "金府路", "poi": "下穿隧道"}),  # a tunnel, not a road
        ("北京市东城区东四街道东四十条 甲22号", {"road": "东四十条", "road_no": "甲22号"}),
        ("沈阳市和平区 南湖街道 文化路 3巷 11号", {"road": "文化路三巷", "road_no": "11号"}),
        (
            "重庆市江北区 观音桥街道 建新北路 一支路 8号",
            {"road": "建新北路一支路", "road_no": "8号"},
        ),
        ("西安市长安区 郭杜街道 西沣路 兴隆段 666号", {"road": "西沣路兴隆段", "road_no": "666号"}),
        ("西安市碑林区东大街下东大街段 88号", {"road": "东大街下东大街段", "road_no": "88号"}),
        (
            "湖北省武汉市江汉区 民权街道 江汉路步行街 120号",
            {"road": "江汉路步行街", "road_no": "120号"},
        ),
        ("上海市浦东新区川沙新镇川环南路1128弄25号", {"road": "川环南路", "road_no": "1128弄25号"}),
        ("东西湖 吴家山街道 东西湖大道 5400号", {"road": "东西湖大道", "road_no": "5400号"}),
        ("北京市海淀区中关村街道中关村大街27号", {"road": "中关村大街", "road_no": "27号"}),
        # door numbers
        ("思明区 中华街道 中山路 168号 之3", {"road": "中山路", "road_no": "168号之3"}),
        ("渝中区 七星岗街道 中山一路 205号 附3号", {"road": "中山一路", "road_no": "205号附3号"}),
        (
            "朝阳区 广渠路 36号院 2号楼 1单元 1101",
            {
                "road": "广渠路",
                "road_no": "36号",
                "building": "2栋",
                "unit": "1单元",
                "room": "1101",
            },
        ),
        # the place before its road, and a place named after its lane
        (
            "深圳市南山区南头街道南头古城中山东街33号",
            {"poi": "南头古城", "road": "中山东街", "road_no": "33号"},
        ),
        ("杭州市拱墅区米市巷街道米市巷小区12幢", {"poi": "米市巷小区", "building": "12栋"}),
    ],
)
def test_roads_lanes_and_door_numbers_without_a_dictionary(text, expected):
    assert details(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "萧山 新塘街道 东方世纪中心 后栋 5楼",
            {"poi": "东方世纪中心", "building": "后栋", "floor": "5层"},
        ),
        ("海曙区集士港镇翔云北路 168号 3号楼 首层", {"building": "3栋", "floor": "1层"}),
        ("重庆江北 五里店街道 五红路 20号 附1号 负一层", {"floor": "-1层"}),
        ("广州市天河区林和街道天河北路233号中信广场地下一层", {"poi": "中信广场", "floor": "-1层"}),
        ("上海市杨浦区五角场街道 淞沪路 8号 百联又一城 B1", {"poi": "百联又一城", "floor": "-1层"}),
        ("北京西城 金融街街道 金融大街 7号 英蓝国际金融中心 F7", {"floor": "7层"}),
        ("九龙坡区 杨家坪街道 杨家坪正街 18号 西城天街 5F", {"poi": "西城天街", "floor": "5层"}),
        (
            "静安区 南京西路街道 南京西路 1266号 恒隆广场 一座 36楼",
            {"building": "1栋", "floor": "36层"},
        ),
        (
            "开福区 新河街道 湘江中路二段 36号 北辰三角洲 E1区 3栋",
            {"poi": "北辰三角洲E1区", "building": "3栋"},
        ),
        (
            "青岛市崂山区中韩街道 海尔路 1号 海尔工业园 C单元 首层",
            {"unit": "C单元", "floor": "1层"},
        ),
        (
            "浙江省绍兴市柯桥区柯桥街道 中国轻纺城 东区 3-218",
            {"poi": "中国轻纺城东区", "room": "3-218"},
        ),
        ("诸暨市山下湖镇 珍珠大市场 B区 2号门", {"poi": "珍珠大市场B区"}),
    ],
)
def test_buildings_floors_and_rooms_in_letters_and_words(text, expected):
    got = details(text)
    assert {k: got.get(k) for k in expected} == expected
    assert "room" in expected or "room" not in got


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a park where a district or town would stand, before a town of the table: the town
        # is read (and its district from the table), the park is the community
        (
            "江苏省苏州市苏州工业园区斜塘街道星塘街100号",
            ("姑苏区", "斜塘街道", "苏州工业园区", "星塘街"),
        ),
        ("苏州工业园区娄葑街道", ("姑苏区", "娄葑街道", "工业园区", None)),
        (
            "江苏省南京市江宁区江宁开发区秣陵街道天元中路8号",
            ("江宁区", "秣陵街道", "江宁开发区", "天元中路"),
        ),
        ("无锡市新吴区无锡高新区旺庄街道长江路8号", ("新吴区", "旺庄街道", "无锡高新区", "长江路")),
    ],
)
def test_a_park_before_a_town_of_the_table(text, expected):
    a = parse(text)
    assert (a.district, a.town, a.community, a.road) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a route by its number, with its named segment
        ("河北省保定市徐水区G107国道东段16号", {"road": "G107国道东段", "road_no": "16号"}),
        ("江西省南昌市新建区320国道8号", {"road": "320国道", "road_no": "8号"}),
        ("佛山市南海区325国道官窑段0号", {"road": "325国道官窑段", "road_no": "0号"}),
        # a lane by its side and number, standing alone, as written (masked digits too)
        ("佛山市顺德区乐从镇腾冲村西3巷12号", {"road": "西3巷", "road_no": "12号"}),
        ("惠州市惠城区江北街道北0巷0号", {"road": "北0巷", "road_no": "0号"}),
        # a place name with digits in it
        (
            "南京西路8号恒隆888广场2层",
            {"road": "南京西路", "road_no": "8号", "poi": "恒隆888广场", "floor": "2层"},
        ),
        (
            "朝阳区建国路88号国贸360 B1",
            {"road": "建国路", "road_no": "88号", "poi": "国贸360", "floor": "-1层"},
        ),
        # a crossing is read as its first road, written with or without 与
        ("武侯区人民南路四段科华北路路口", {"road": "人民南路四段"}),
        ("雁塔区长安南路朱雀大街交叉口东北角", {"road": "长安南路"}),
        ("锦江区春熙路街道红星路路口东50米", {"road": "红星路"}),
        # what stands after the crossing (and its side) is still read
        (
            "武昌区中北路与东湖路交叉口西南角东湖国际3号楼1单元",
            {"road": "中北路", "poi": "东湖国际", "building": "3栋", "unit": "1单元"},
        ),
        (
            "玄武区 中山路 和 珠江路 交汇处 往北30米 金鹰购物中心 5层",
            {"road": "中山路", "poi": "金鹰购物中心", "floor": "5层"},
        ),
        # a block named by its lanes is a place, not the road of the door number
        (
            "福州市鼓楼区杨桥东路三坊七巷南后街8号",
            {"road": "南后街", "road_no": "8号", "poi": "三坊七巷"},
        ),
        ("鼓楼区九街十八巷", {"poi": "九街十八巷"}),
    ],
)
def test_route_numbers_side_lanes_numbered_places_crossings_and_lane_blocks(text, expected):
    assert details(text) == expected
