"""Hostile text in names and ids stays text in every report and table the toolkit writes.

Markdown reports are rendered with a CommonMark renderer with raw HTML on and no link
sanitising (as a careless viewer would), CSVs are read back cell by cell, and the address
commands must keep an input column that shares a name with one of their fields.
"""

from __future__ import annotations

import csv
import re
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from typer.testing import CliRunner

from cim.cli import app
from cim.escape import FORMULA_PREFIXES, csv_safe, markdown_text
from cim.events import EventLog, ingest
from cim.reports import (
    coverage_report,
    events_summary,
    flood_report,
    vitals_report,
    write_dispatch_report,
)
from cim.tables import join_fields, read_table, write_table

MARKUP = [
    "<img src=x onerror=alert(1)>",
    "a|b",
    "line1\nline2",
    "[x](javascript:alert(1))",
    "cr\ronly",
    "crlf\r\nend",
    "**bold** _em_ `code` ~~del~~",
    "- 1. # not a list",
]
FORMULAS = ['=HYPERLINK("http://x")', "=cmd|' /C calc'!A0", "+1+1", "@SUM(1)", "-2+3"]
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
ALLOWED_TAGS = {"h1", "h2", "p", "ul", "li", "table", "thead", "tbody", "tr", "th", "td", "img"}

runner = CliRunner()
RENDERER = MarkdownIt("commonmark", {"html": True}).enable("table")
RENDERER.validateLink = lambda url: True  # a viewer that lets any link through


def folded(text: str) -> str:
    return " ".join(text.splitlines()).strip()


class Page(HTMLParser):
    """The elements, text and table shapes of rendered HTML."""

    def __init__(self, markdown: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.tables: list[list[int]] = []
        self.chunks: list[str] = []
        self.cells: list[str] = []
        self._in_cell = False
        self.feed(RENDERER.render(markdown))
        self.text = "".join(self.chunks)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append(0)
        elif tag in ("th", "td"):
            self.tables[-1][-1] += 1
            self.cells.append("")
            self._in_cell = True

    def handle_endtag(self, tag):
        if tag in ("th", "td"):
            self._in_cell = False

    def handle_data(self, data):
        self.chunks.append(data)
        if self._in_cell:
            self.cells[-1] += data


def assert_renders_safely(markdown: str, shown: list[str]) -> Page:
    """Only the report's own elements, every table rectangular, each text shown as text."""
    page = Page(markdown)
    assert {tag for tag, _ in page.tags} <= ALLOWED_TAGS
    assert all(not name.startswith("on") for _, attrs in page.tags for name in attrs)
    assert [attrs["src"] for tag, attrs in page.tags if tag == "img"] in ([], ["map.png"])
    assert page.tables and all(len(set(rows)) == 1 for rows in page.tables)
    for text in shown:
        assert folded(text) in page.text
    return page


def assert_no_formula(path: Path) -> list[str]:
    """Every cell of the CSV as text; none can start a formula unless it is a plain number."""
    with open(path, newline="", encoding="utf-8") as f:
        cells = [cell for row in csv.reader(f) for cell in row]
    risky = [c for c in cells if c.startswith(FORMULA_PREFIXES) and not PLAIN_NUMBER.fullmatch(c)]
    assert risky == [], f"{path.name}: {risky}"
    return cells


def write_input(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False, quoting=csv.QUOTE_ALL)
    return path


# --- Markdown ------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    st.text(st.sampled_from(list("ab 1.-+>#*_`[]()!|~<>&\\;:/=\"'\t\r\n\u2028成都")), max_size=40)
)
def test_escaped_text_renders_as_itself_in_a_list_item_and_a_cell(text):
    item = Page("- " + markdown_text(text))
    assert [tag for tag, _ in item.tags] == ["ul", "li"]
    assert item.text.strip() == folded(text)
    cell = Page(f"| h |\n|---|\n| {markdown_text(text)} |")
    assert cell.tables == [[1, 1]]
    assert cell.cells == ["h", folded(text)]


def test_dispatch_report_and_csvs_keep_hostile_ids_as_text(tmp_path, city, invoke):
    incidents = city.layer("incidents").head(len(MARKUP) + len(FORMULAS))
    ids = MARKUP + FORMULAS
    stations = city.layer("facilities").query("kind == 'fire_station'").head(len(FORMULAS) + 1)
    incident_csv = write_input(
        pd.DataFrame(
            {
                "id": [*ids, "<script>alert(1)</script>"],
                "kind": [*ids[::-1], "fire"],
                "lon": [*incidents.geometry.x, None],
                "lat": [*incidents.geometry.y, 30.6],
            }
        ),
        tmp_path / "incidents.csv",
    )
    station_csv = write_input(
        pd.DataFrame(
            {
                "id": [*FORMULAS, '=HYPERLINK("http://bad")'],
                "lon": [*stations.geometry.x.iloc[:-1], None],
                "lat": stations.geometry.y,
            }
        ),
        tmp_path / "stations.csv",
    )
    out = tmp_path / "out"
    result = invoke(
        "dispatch", "--incidents", incident_csv, "--resources", station_csv, "--out", out
    )
    assert result.exit_code == 0, result.output

    report = (out / "report.md").read_text("utf-8")
    page = assert_renders_safely(report, [*ids, "<script>alert(1)</script>"])
    assert '=HYPERLINK("http://bad")' in page.text

    routes = read_table(out / "routes.csv")
    assert len(routes) == len(ids)  # a CR or LF inside an id does not split its row
    assert sorted(routes["incident_id"]) == sorted(
        "'" + i if i.startswith(FORMULA_PREFIXES) else i for i in ids
    )
    assert {"'" + f for f in FORMULAS} >= set(routes["resource_id"].dropna())
    assert_no_formula(out / "routes.csv")
    bad = assert_no_formula(out / "bad_rows.csv")
    assert """'=HYPERLINK("http://bad")""" in bad
    assert pd.to_numeric(routes["eta_s"]).dropna().gt(0).all()  # numbers stay numbers


HOSTILE = [*MARKUP, *FORMULAS]


def test_dispatch_report_escapes_its_title_notes_and_cells(tmp_path):
    routes = gpd.GeoDataFrame(
        {
            "incident_id": HOSTILE,
            "resource_id": "s1",
            "rank": 1,
            "eta_s": np.arange(len(HOSTILE), dtype=float) * 60 + 30,
            "distance_m": 500.0,
            "reason": None,
            "incident_kind": "fire",
            "resource_name": HOSTILE[::-1],
        },
        geometry=[
            shapely.LineString([(104.06, 30.65), (104.07, 30.66 + i * 1e-3)])
            for i in range(len(HOSTILE))
        ],
        crs=4326,
    )
    paths = write_dispatch_report(
        routes, tmp_path, title="报告 <img src=x onerror=alert(1)>", notes=HOSTILE
    )
    page = assert_renders_safely(paths["markdown"].read_text("utf-8"), HOSTILE)
    assert "报告 <img src=x onerror=alert(1)>" in page.text
    assert_no_formula(paths["csv"])


def test_coverage_report_escapes_level_headings_and_unit_names():
    coverage = pd.DataFrame(
        {
            "level": [MARKUP[0]] * 7 + [MARKUP[1]] * (len(HOSTILE) - 7),
            "unit_code": [f"u{i}" for i in range(len(HOSTILE))],
            "name": HOSTILE,
            "sensors": 1,
            "density_per_km2": 1.0,
            "covered_share": 0.1,
            "below_target": True,
        }
    )
    assert_renders_safely(coverage_report(coverage, target_density=25), HOSTILE)


def test_vitals_report_escapes_indicator_and_unit_names():
    vitals = pd.DataFrame(
        {
            "dimension": "安全",
            "indicator_id": [f"i{i}" for i in range(len(HOSTILE))],
            "name": HOSTILE,
            "unit": "个",
            "status": "alarm",
            "unit_code": "u1",
            "unit_name": "<img src=x onerror=alert(1)>",
            "level": "street",
            "note": [f"area 1.0 km²: {h}" for h in HOSTILE],
            "outside": 1,
        }
    )
    assert_renders_safely(vitals_report(vitals), HOSTILE)


def test_events_report_escapes_ids_classes_and_notes():
    events = pd.DataFrame(
        {
            "id": HOSTILE,
            "source": "hotline",
            "class_name": HOSTILE[::-1],
            "note": [f"address not found: {h}" for h in HOSTILE],
            "status": "reported",
            "escalated_at": None,
        }
    )
    stats = pd.DataFrame({"class_name": HOSTILE, "department": HOSTILE[::-1], "events": 1})
    assert_renders_safely(events_summary(events, stats), HOSTILE)


def test_flood_report_escapes_incident_and_unit_ids():
    ponds = pd.DataFrame(
        {"id": [1], "depth_cm": [20.0], "water_m3": [9.0], "storage_m3": [9.0], "area_m2": [45.0]}
    )
    comparison = pd.DataFrame(
        {
            "incident_id": HOSTILE[:10],
            "resource_before": HOSTILE[10:] + HOSTILE[:7],
            "resource_after": HOSTILE[:10][::-1],
            "eta_before_s": 60.0,
            "eta_after_s": 120.0,
            "delay_s": np.arange(10.0),
            "rerouted": True,
        }
    )
    report = flood_report(
        ponds,
        pd.DataFrame({"closed_for": [["car"]]}),
        comparison,
        rain_mm_h=60,
        hours=1,
        runoff=0.9,
        drainage_mm_h=30,
        synthetic_dem=True,
    )
    assert_renders_safely(report, HOSTILE)


# --- CSV -----------------------------------------------------------------------------------


def test_address_parse_neutralises_formulas_in_both_csvs(tmp_path):
    source = write_input(
        pd.DataFrame(
            {"id": range(len(FORMULAS) + 1), "address": [*FORMULAS, "成都市金牛区永陵路10号"]}
        ),
        tmp_path / "in.csv",
    )
    out = tmp_path / "parsed.csv"
    result = runner.invoke(app, ["address", "parse", str(source), str(out)])
    assert result.exit_code == 0, result.output
    cells = assert_no_formula(out)
    errors = assert_no_formula(tmp_path / "parsed.errors.csv")
    assert {"'" + f for f in FORMULAS} <= set(cells) & set(errors)
    assert read_table(out)["district"].iloc[5] == "金牛区"


def test_event_report_csvs_neutralise_formulas(tmp_path, city):
    rows = pd.DataFrame(
        {
            "id": FORMULAS,
            "source": "patrol",
            "reported_at": [f"2026-07-15 08:0{i}" for i in range(len(FORMULAS))],
            "text": ["=1+1 路边着火冒烟", *FORMULAS[1:]],  # one fire, so a unit is sent
            "lon": 104.07,
            "lat": 30.66,
        }
    )
    db = tmp_path / "events.db"
    with EventLog(db) as log:
        assert ingest(rows, city, log).logged == len(FORMULAS)
    out = tmp_path / "report"
    result = runner.invoke(
        app, ["events", "report", "--db", str(db), "--out", str(out), "--now", "2026-07-15 09:00"]
    )
    assert result.exit_code == 0, result.output
    cells = assert_no_formula(out / "events.csv")
    assert {"'" + f for f in FORMULAS} | {"'=1+1 路边着火冒烟"} <= set(cells)
    assert_no_formula(out / "stats.csv")


def test_numbers_stay_numbers_and_headers_are_neutralised(tmp_path):
    table = pd.DataFrame(
        {
            "=bad": ["x", "y"],
            "delta": [-3, 2],
            "text": ["-5", "-5+1"],
            "when": pd.to_datetime(["2026-07-15", None]),
        }
    )
    path = write_table(table, tmp_path / "t.csv")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows == [
        ["'=bad", "delta", "text", "when"],
        ["x", "-3", "-5", "2026-07-15"],
        ["y", "2", "'-5+1", ""],
    ]
    assert pd.read_csv(path)["delta"].tolist() == [-3, 2]
    raw = write_table(table, tmp_path / "t.parquet")
    assert pd.read_parquet(raw)["text"].tolist() == ["-5", "-5+1"]
    assert csv_safe(table)["delta"].dtype == table["delta"].dtype


def test_cr_lf_quotes_commas_and_formulas_round_trip_row_for_row(tmp_path):
    rng = np.random.default_rng(11)
    pieces = np.array(
        [
            "\r",
            "\n",
            "\r\n",
            '"',
            ",",
            "'",
            "=",
            "+",
            "-",
            "@",
            "\t",
            " ",
            "a",
            "Z",
            "7",
            "成都",
            "区",
            "|",
            ";",
        ]
    )
    n = 5_204
    texts = ["".join(rng.choice(pieces, size=rng.integers(1, 12))) for _ in range(n)]
    table = pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "text": texts,
            "name": rng.choice(np.array([*FORMULAS, "普通", "-7", "+86"]), size=n),
            "value": rng.normal(size=n).round(6),
        }
    )
    path = write_table(table, tmp_path / "fuzz.csv")
    back = read_table(path)
    assert len(back) == n and back["id"].tolist() == table["id"].tolist()
    for column in ("text", "name"):
        for original, read in zip(table[column], back[column], strict=True):
            starts = original.startswith(FORMULA_PREFIXES) and not PLAIN_NUMBER.fullmatch(original)
            assert read == ("'" + original if starts else original)
    assert np.array_equal(pd.to_numeric(back["value"]).to_numpy(), table["value"].to_numpy())
    assert_no_formula(path)


# --- column collisions (item 10) -------------------------------------------------------------


@pytest.fixture
def governed(tmp_path) -> Path:
    """A government-style table that already has district, city and score columns."""
    return write_input(
        pd.DataFrame(
            {
                "id": ["1", "2"],
                "address": ["成都市金牛区永陵路10号永陵公园", "四川省成都市锦江区"],
                "district": ["老城区", "东区"],
                "city": ["蓉城", "蓉城"],
                "score": ["88", "91"],
                "lon": ["1", "2"],
            }
        ),
        tmp_path / "gov.csv",
    )


def header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as f:
        return next(csv.reader(f))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_address_parse_keeps_input_columns_that_share_a_field_name(governed, tmp_path, suffix):
    out = tmp_path / f"parsed{suffix}"
    result = runner.invoke(app, ["address", "parse", str(governed), str(out)])
    assert result.exit_code == 0, result.output
    parsed = read_table(out)
    assert parsed.columns.is_unique
    if suffix == ".csv":
        assert len(set(header(out))) == len(header(out))
    assert parsed["district_input"].tolist() == ["老城区", "东区"]
    assert parsed["district"].tolist() == ["金牛区", "锦江区"]
    assert parsed["city_input"].tolist() == ["蓉城", "蓉城"]
    assert parsed["city"].tolist() == ["成都市", "成都市"]
    assert parsed["score"].tolist() == ["88", "91"]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_address_geocode_keeps_input_columns_that_share_a_field_name(
    governed, tmp_path, suffix, invoke
):
    out = tmp_path / f"geocoded{suffix}"
    result = invoke("address", "geocode", governed, out)
    assert result.exit_code == 0, result.output
    found = read_table(out) if suffix == ".csv" else gpd.read_parquet(out)
    assert found.columns.is_unique
    if suffix == ".csv":
        assert len(set(header(out))) == len(header(out))
        assert found["lon_input"].tolist() == ["1", "2"]
        assert pd.to_numeric(found["lon"]).between(103, 105).all()
    else:
        assert found["lon"].tolist() == ["1", "2"] and found.geometry.notna().all()
    assert found["district_input"].tolist() == ["老城区", "东区"]
    assert found["district"].tolist() == ["金牛区", "锦江区"]
    assert found["score_input"].tolist() == ["88", "91"]
    assert pd.to_numeric(found["score"]).between(0, 1).all()
    assert found["city"].tolist() == ["蓉城", "蓉城"]


def test_join_fields_never_reuses_a_taken_name():
    table = pd.DataFrame({"district": ["a"], "district_input": ["b"], "x": ["c"]})
    joined = join_fields(table, pd.DataFrame({"district": ["d"], "x": ["e"]}))
    assert joined.columns.tolist() == [
        "district_input2",
        "district_input",
        "x_input",
        "district",
        "x",
    ]
    assert joined.iloc[0].tolist() == ["a", "b", "c", "d", "e"]
