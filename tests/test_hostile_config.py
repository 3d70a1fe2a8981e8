"""Hostile configuration files (issue 11, items 1 and 12): a registry filter never runs code,
and every mistake in a registry or event-class YAML is a one-line error naming the file."""

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import yaml
from typer.testing import CliRunner

import cim
import layers
from cim.cli import app
from cim.events import load_classes
from cim.filters import GRAMMAR, FilterError, apply_filter, filter_mask
from cim.vitals import VitalsError, load_registry

LON, LAT = 104.06, 30.65

PAYLOADS = {
    "os.system": "@self.__class__.__init__.__globals__['np'].__loader__.__class__.__init__"
    ".__globals__['sys'].modules['os'].system('touch {target}') == 0",
    "city.save": "@self.city.save('{target}') == 0",
    "frame.to_csv": "@frame.to_csv('{target}') == 0",
}


@pytest.fixture(scope="session")
def town(tmp_path_factory):
    """One district with two roads, three sensors and an address; saved for the CLI."""

    def at(dx, dy):
        return shapely.Point(LON + dx, LAT + dy)

    def frame(geometries, **columns):
        return gpd.GeoDataFrame(columns, geometry=geometries, crs=4326)

    city = cim.CityModel(
        {
            "districts": frame(
                [shapely.box(LON, LAT, LON + 0.01, LAT + 0.01)],
                code=["510104"],
                name=["锦江区"],
                parent_code=["510100"],
            ),
            "roads": frame(
                [
                    shapely.LineString([at(0.001, 0.005), at(0.009, 0.005)]),
                    shapely.LineString([at(0.005, 0.001), at(0.005, 0.009)]),
                ],
                highway=["primary", "residential"],
                oneway=[False, False],
                name=["东大街", "春熙路"],
                maxspeed=[None, None],
            ),
            "sensors": frame(
                [at(0.002, 0.005), at(0.006, 0.005), at(0.005, 0.007)],
                id=["s1", "s2", "s3"],
                kind=["camera", "camera", "manhole"],
                range_m=[50.0, 50.0, 10.0],
                status=["online", "offline", "online"],
            ),
        },
        name="town",
    )
    path = tmp_path_factory.mktemp("town") / "town"
    city.save(path)
    return city, path


def registry(path, **params) -> None:
    """A registry of one sensor indicator with ``params`` (written with yaml, quoted right)."""
    entry = {"id": "x", "name": "x", "unit": "x", "dimension": "公共管理", "formula": "count"}
    document = {"indicators": [{**entry, "params": {"layer": "sensors", **params}}]}
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")


def run_vitals(town, path, tmp_path):
    result = CliRunner().invoke(
        app,
        ["vitals", "--city", str(town[1]), "--registry", str(path), "--out", str(tmp_path / "o")],
    )
    output = " ".join(result.output.split())
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), output
    assert output.startswith("error: ") and "Traceback" not in output
    return output


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_a_registry_filter_runs_no_code_in_python(town, tmp_path, payload):
    target = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    registry(path, where=PAYLOADS[payload].format(target=target))
    with pytest.raises(VitalsError) as caught:
        town[0].vitals("city", registry=load_registry(path))
    assert not target.exists()
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message and "indicator 'x': where:" in message
    assert "'@' (a Python variable) is not allowed" in message and GRAMMAR in message


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_a_registry_filter_runs_no_code_on_the_command_line(town, tmp_path, payload):
    target = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    registry(path, where=PAYLOADS[payload].format(target=target))
    output = run_vitals(town, path, tmp_path)
    assert not target.exists()
    assert "'@' (a Python variable) is not allowed" in output


def test_a_filter_is_checked_when_the_registry_loads(tmp_path):
    path = tmp_path / "r.yaml"
    registry(path, where="status.upper() == 'ONLINE'")
    with pytest.raises(
        VitalsError, match=r"r\.yaml: indicator 'x': where: .*a function call \(status\.upper\(\)\)"
    ):
        load_registry(path)


BAD_REGISTRIES = {  # YAML text → what the message says
    "python tag": (
        "indicators: !!python/object/apply:os.system ['touch {target}']\n",
        "line 1, column 13: the tag !!python/object/apply:os.system is not allowed; remove it",
    ),
    "python tag in a filter": (
        "indicators:\n  - {id: x, name: x, unit: x, dimension: 公共管理, formula: count,\n"
        "     params: {layer: sensors, where: !!python/name:os.system }}\n",
        "line 3, column 38: the tag !!python/name:os.system is not allowed",
    ),
    "syntax error": (
        "indicators:\n  - {id: x, name: x, unit: [x\n",
        "line 3, column 1: expected ',' or ']', but got '<stream end>'",
    ),
    "tab indent": ("indicators:\n\t- {id: x}\n", "line 2, column 1: found character '\\t'"),
    "key given twice": (
        "indicators:\n  - {id: x, id: y}\n",
        "line 2, column 13: the key 'id' is given twice",
    ),
    "nested too deeply": ("indicators: " + "[" * 5000 + "]" * 5000, "nested too deeply to read"),
    "entry not a mapping": (
        "indicators:\n  - sensor_density\n",
        "indicator #1 is 'sensor_density', not a mapping",
    ),
    "no indicators list": ("- a\n- b\n", "needs a non-empty top-level 'indicators:' list"),
    "empty file": ("", "needs a non-empty top-level 'indicators:' list"),
    "parameter named ctx": (
        "indicators:\n  - {id: x, name: x, unit: x, dimension: 公共管理, formula: count,"
        " params: {layer: sensors, ctx: 1}}\n",
        "indicator 'x': formula 'count' has no parameter 'ctx'; it takes layer, where",
    ),
    "unknown parameter": (
        "indicators:\n  - {id: x, name: x, unit: x, dimension: 公共管理, formula: count,"
        " params: {layer: sensors, colour: red}}\n",
        "formula 'count' has no parameter 'colour'",
    ),
    "missing parameter": (
        "indicators:\n  - {id: x, name: x, unit: x, dimension: 公共管理, formula: share,"
        " params: {layer: sensors}}\n",
        "indicator 'x': formula 'share' needs parameter 'where'",
    ),
    "filter not text": (
        "indicators:\n  - {id: x, name: x, unit: x, dimension: 公共管理, formula: count,"
        " params: {layer: sensors, where: 5}}\n",
        "indicator 'x': params: where must be text or left out, not 5",
    ),
    "distance not a number": (
        "indicators:\n  - {id: x, name: x, unit: x, dimension: 公共服务, formula: near_share,"
        " params: {layer: buildings, targets: facilities, targets_where: 'kind == 1',"
        " distance_m: far}}\n",
        "params: distance_m must be a number, not 'far'",
    ),
    "params not a mapping": (
        "indicators:\n  - {id: x, name: x, unit: x, dimension: 公共管理, formula: count,"
        " params: [layer, sensors]}\n",
        "indicator 'x': params must be a mapping, not ['layer', 'sensors']",
    ),
    "threshold not a number": (
        "indicators:\n  - {id: x, name: x, unit: x, dimension: 公共管理, formula: count,"
        " params: {layer: sensors}, direction: up, warn: high, alarm: 1}\n",
        "indicator 'x': warn must be a number or left out, not 'high'",
    ),
    "id a number": (
        "indicators:\n  - {id: 2024, name: x, unit: x, dimension: 公共管理, formula: count,"
        " params: {layer: sensors}}\n",
        "indicator 2024: id must be text, not 2024; put it in quotes",
    ),
    "levels not a list": (
        "indicators:\n  - {id: x, name: x, unit: x, dimension: 公共管理, formula: count,"
        " params: {layer: sensors}, levels: city}\n",
        "indicator 'x': levels must be a list of text, not 'city'",
    ),
    "formula a list": (
        "indicators:\n  - {id: x, name: x, unit: x, dimension: 公共管理, formula: [count]}\n",
        "indicator 'x': formula must be text, not ['count']",
    ),
    "unknown profile": (
        "indicators:\n  - {id: x, name: x, unit: x, dimension: 公共安全, formula: reached_share,"
        " params: {layer: buildings, stations: \"kind == 'fire_station'\", profile: tank,"
        " cutoff_s: 300}}\n",
        "indicator 'x': unknown profile 'tank'; choose one of car, fire_engine",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_REGISTRIES))
def test_a_bad_registry_is_one_line_naming_the_file(tmp_path, case):
    text, expected = BAD_REGISTRIES[case]
    target = tmp_path / "pwned"
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace("{target}", str(target)), encoding="utf-8")
    with pytest.raises(VitalsError) as caught:
        load_registry(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path}")
    assert expected in message
    assert not target.exists()


@pytest.mark.parametrize("case", ["python tag", "entry not a mapping", "parameter named ctx"])
def test_a_bad_registry_is_one_line_on_the_command_line(town, tmp_path, case):
    text, expected = BAD_REGISTRIES[case]
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace("{target}", str(tmp_path / "pwned")), encoding="utf-8")
    assert expected in run_vitals(town, path, tmp_path)


def test_a_registry_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "gbk.yaml"
    path.write_bytes("indicators:\n  - {id: 密度}\n".encode("gbk"))
    with pytest.raises(
        VitalsError, match=r"gbk\.yaml: not UTF-8 text \(byte 21\); save it as UTF-8"
    ):
        load_registry(path)


def test_a_filter_on_a_text_column_with_a_number_is_an_error_not_a_traceback(town, tmp_path):
    path = tmp_path / "r.yaml"
    registry(path, where="kind > 1")
    with pytest.raises(VitalsError, match=r"indicator 'x': filter 'kind > 1' on sensors: cannot"):
        town[0].vitals("city", registry=load_registry(path))


# The filter language against DataFrame.query: the same rows for what both accept.


@pytest.fixture(scope="session")
def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kind": ["fire", "flood", None, "fire", "medical", "flood"],
            "depth_cm": [0.0, 20.0, np.nan, 15.0, 40.0, np.nan],
            "units": pd.array([1, None, 3, 2, None, 5], dtype="Int64"),
            "note": pd.Series(["a", None, "b", "c", None, "d"], dtype=object),
            "open": [True, False, True, False, True, False],
            "road class": ["primary", "service", "primary", None, "service", "primary"],
        }
    )


SAME_AS_QUERY = [
    "kind == 'fire'",
    "kind != 'fire'",
    "depth_cm > 15",
    "depth_cm >= 15",
    "depth_cm < 15",
    "depth_cm != 15",
    "15 <= depth_cm",
    "0 < depth_cm <= 20",
    "depth_cm > -1",
    "units > 1",
    "units == 3",
    "~(units > 1)",
    "not units > 1",
    "note == 'a'",
    "note != 'a'",
    "kind in ['fire', 'flood']",
    "kind not in ['fire']",
    "kind == ['fire', 'medical']",
    "kind != ['fire', 'medical']",
    "depth_cm in [0, 40]",
    "units in (1, 2)",
    "units not in [1]",
    "units != [1, 5]",
    "open",
    "~open",
    "not open",
    "open == True",
    "kind == 'fire' and depth_cm > 10",
    "kind == 'fire' & depth_cm > 10",
    "kind == 'flood' or units == 5",
    "kind == 'flood' | units == 5",
    "(kind == 'fire' | kind == 'medical') & ~(depth_cm > 30)",
    "not (kind == 'fire' or open)",
    "`road class` == 'primary' and open",
    "`road class` != 'service'",
    "kind == depth_cm",
]


@pytest.mark.parametrize("where", SAME_AS_QUERY)
def test_the_filter_language_selects_the_rows_dataframe_query_selects(table, where):
    expected = table.query(where).index.tolist()
    assert table.index[filter_mask(table, where)].tolist() == expected
    assert apply_filter(table, where).index.tolist() == expected


@pytest.mark.parametrize(
    ("where", "rows"),
    [
        ("depth_cm == None", [2, 5]),
        ("None == units", [1, 4]),
        ("kind != None", [0, 1, 3, 4, 5]),
        ("note == None", [1, 4]),
        ("kind in ['medical', None]", [2, 4]),
        ("depth_cm not in [0, None]", [1, 3, 4]),
        ("1 == 1", [0, 1, 2, 3, 4, 5]),
    ],
)
def test_none_stands_for_a_missing_value(table, where, rows):
    assert table.index[filter_mask(table, where)].tolist() == rows


@pytest.mark.parametrize(
    ("where", "construct"),
    [
        ("kind.values == 'fire'", "attribute access (kind.values)"),
        ("kind.upper() == 'FIRE'", "a function call (kind.upper())"),
        ("len(kind) > 3", "a function call (len(kind))"),
        ("__import__('os').system('true') == 0", "a function call"),
        ("kind[0] == 'f'", "indexing (kind[0])"),
        ("depth_cm + 1 > 15", "arithmetic (depth_cm + 1)"),
        ("depth_cm ** 2 > 15", "arithmetic"),
        ("(lambda: 1)() == 1", "a function call"),
        ("depth_cm > (lambda: 1)", "a lambda"),
        ("[k for k in kind] == 1", "a comprehension"),
        ("f'{kind}' == 'fire'", "an f-string (f'{kind}')"),
        ("(x := 1) == 1", "an assignment"),
        ("kind == 'a' if open else open", "a conditional expression"),
        ("kind == {'a': 1}", "a mapping"),
        ("kind == b'fire'", "a literal other than text, a number, True, False or None"),
        ("kind is None", "'is' (kind is None)"),
        ("kind in note", "'in' without a list on its right"),
        ("kind in [note]", "note in a list"),
        ("depth_cm > None", "ordering a list or None"),
        ("@kind == 'fire'", "'@' (a Python variable)"),
        ("~" * 60 + "open", "nesting deeper than 50 levels"),
    ],
)
def test_the_filter_language_refuses_everything_else(table, where, construct):
    with pytest.raises(FilterError) as caught:
        filter_mask(table, where, layer="incidents")
    message = str(caught.value)
    assert construct in message and "is not allowed" in message and GRAMMAR in message
    assert repr(where) in message


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("depth > 15", "no column 'depth'; columns are kind, depth_cm, units, note, open, road class"),
        ("kind", "kind is not true or false per row"),
        ("kind ==", "not a valid expression"),
        ("`road class == 'x'", "a backtick is not closed"),
        ("kind > 1", "cannot compare kind > 1"),
    ],
)  # fmt: skip
def test_a_filter_that_does_not_fit_the_layer_is_named(table, where, message):
    with pytest.raises(FilterError, match=re.escape(message)):
        filter_mask(table, where, layer="incidents")


def test_quoted_text_keeps_its_operators(table):
    odd = table.assign(kind=["a&b", "a|b", "@x", "`y`", "it's", None])
    selected = filter_mask(odd, "kind in ['a&b', '@x', '`y`', \"it's\"] | kind == 'a|b'")
    assert selected.tolist() == [True, True, True, True, True, False]


# Event classes: the same safe loading, errors naming the file and the class.

GOOD_CLASS = "{major: '04', major_name: 突发事件, code: '0401', name: 火灾, department: 消防, respond_min: 5, resolve_min: 60"

BAD_CLASSES = {
    "python tag": (
        "classes: !!python/object/apply:os.system ['touch {target}']\n",
        "line 1, column 10: the tag !!python/object/apply:os.system is not allowed",
    ),
    "syntax error": ("classes:\n  - {code: '0401'\n", "line 3, column 1: expected ',' or '}'"),
    "entry not a mapping": ("classes:\n  - 火灾\n", "class #1 is '火灾', not a mapping"),
    "no classes list": ("classes: 火灾\n", "needs a non-empty top-level 'classes:' list"),
    "code read as a number": (
        "classes:\n  - " + GOOD_CLASS.replace("'0401'", "0401") + "}\n",
        "class 257: code must be text, not 257; put it in quotes",
    ),
    "keywords not a list": (
        "classes:\n  - " + GOOD_CLASS + ", keywords: 着火}\n",
        "class '0401': keywords must be a list of text, not '着火'",
    ),
    "empty keyword": (
        "classes:\n  - " + GOOD_CLASS + ", keywords: [着火, '']}\n",
        "class '0401': an empty keyword matches every text; remove it",
    ),
    "time limit not a number": (
        "classes:\n  - " + GOOD_CLASS.replace("respond_min: 5", "respond_min: soon") + "}\n",
        "class '0401': respond_min must be a number, not 'soon'",
    ),
    "missing field": (
        "classes:\n  - " + GOOD_CLASS.replace("department: 消防, ", "") + "}\n",
        "class '0401': missing field 'department'",
    ),
    "unknown field": (
        "classes:\n  - " + GOOD_CLASS + ", colour: red}\n",
        "class '0401': unknown field 'colour'; fields are code, department",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CLASSES))
def test_a_bad_event_class_file_is_one_line_naming_the_file_and_class(tmp_path, case):
    text, expected = BAD_CLASSES[case]
    target = tmp_path / "pwned"
    path = tmp_path / "classes.yaml"
    path.write_text(text.replace("{target}", str(target)), encoding="utf-8")
    with pytest.raises(layers.InputError) as caught:
        load_classes(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path}")
    assert expected in message
    assert not target.exists()


def test_a_good_event_class_file_loads(tmp_path):
    path = tmp_path / "classes.yaml"
    path.write_text("classes:\n  - " + GOOD_CLASS + ", keywords: [着火]}\n", encoding="utf-8")
    (fire,) = load_classes(path)
    assert (fire.code, fire.keywords, fire.respond_min) == ("0401", ("着火",), 5)


# The manifest of a saved city model: the other JSON the toolkit reads.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{truncated", "not valid JSON (Expecting property name"),
        ("[1]", "unknown format [1], expected cim-city/1"),
        ('{"format": "cim-city/1"}', "'layers' must map each name to its file and kind"),
        ('{"format": "cim-city/1", "layers": {"roads": "roads.parquet"}}', "'layers' must map"),
        ('{"format": "cim-city/1", "layers": {}, "graph": {"nodes": 1}}', "'graph' name its"),
    ],
)
def test_a_broken_model_manifest_is_one_line_naming_the_file(tmp_path, text, expected):
    (tmp_path / "manifest.json").write_text(text, encoding="utf-8")
    with pytest.raises(layers.InputError) as caught:
        cim.CityModel.load(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'manifest.json'}: ") and expected in message
    assert message.endswith("save the model again with CityModel.save")
