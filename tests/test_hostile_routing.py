"""Hostile cases for routing (issue 11): closures that cut everything or a piece off, input
with no usable row, the mean ETA of the first units, and times with and without a zone."""

import re
import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

import cim
import layers
import routing
from cim.cli import app
from cim.coverage import sensor_coverage
from cim.escape import markdown_text
from cim.events.intake import check_events
from cim.siting import site_fire_stations
from tests.conftest import points

X, Y = 405000.0, 3395000.0  # a spot in Chengdu, EPSG:4544 metres
STEP = 250.0
SIZE = 5  # a 5 x 5 lattice of crossings, 250 m apart
ISLAND = [((1, 0), (2, 0)), ((1, 1), (2, 1)), ((0, 1), (0, 2)), ((1, 1), (1, 2))]  # 2x2 corner
CORNER = [((3, 4), (2, 4)), ((3, 4), (3, 3)), ((4, 3), (3, 3)), ((4, 3), (4, 2))]  # no station
STATIONS = {"A": (0, 0), "B": (4, 0), "C": (2, 2)}
INCIDENTS = {"i-island": (1, 1), "i-east": (3, 2), "i-north": (0, 4), "i-corner": (4, 4)}
EVERYTHING = shapely.box(X - 100, Y - 100, X + SIZE * STEP, Y + SIZE * STEP)


def metric(geometries, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=list(geometries), crs=4544).to_crs(4326)


def at(node) -> tuple[float, float]:
    return X + node[0] * STEP, Y + node[1] * STEP


def lonlat(node) -> tuple[float, float]:
    point = metric([shapely.Point(at(node))]).geometry.iloc[0]
    return point.x, point.y


def midpoint_boxes(pairs) -> gpd.GeoDataFrame:
    middles = [
        shapely.LineString([at(a), at(b)]).interpolate(0.5, normalized=True) for a, b in pairs
    ]
    return metric(m.buffer(10, cap_style="square") for m in middles)


@pytest.fixture(scope="session")
def lattice() -> gpd.GeoDataFrame:
    """Streets between neighbouring crossings; the middle row is one-way eastbound."""
    ends = [((i, j), (i + 1, j)) for j in range(SIZE) for i in range(SIZE - 1)]
    ends += [((i, j), (i, j + 1)) for i in range(SIZE) for j in range(SIZE - 1)]
    return metric(
        (shapely.LineString([at(a), at(b)]) for a, b in ends),
        highway=["primary" if a[1] == b[1] else "residential" for a, b in ends],
        oneway=[a[1] == b[1] == 2 for a, b in ends],
        name=[f"街{n}" for n in range(len(ends))],
        maxspeed=[None] * len(ends),
    )


@pytest.fixture(scope="session")
def graph(lattice) -> nx.MultiDiGraph:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return routing.graph_from_roads(lattice)


def stations(**columns) -> gpd.GeoDataFrame:
    found = points("s", [lonlat(n) for n in STATIONS.values()], units=[1] * len(STATIONS))
    found["id"] = list(STATIONS)
    return found.assign(**columns)


def incidents(**columns) -> gpd.GeoDataFrame:
    found = points("i", [lonlat(n) for n in INCIDENTS.values()])
    found["id"] = list(INCIDENTS)
    return found.assign(**columns)


def node_of(graph, node) -> int:
    x, y = lonlat(node)
    return min(
        graph.nodes, key=lambda n: (graph.nodes[n]["x"] - x) ** 2 + (graph.nodes[n]["y"] - y) ** 2
    )


def without(graph, barriers: gpd.GeoDataFrame) -> nx.MultiDiGraph:
    """networkx's copy of the graph without the edges the barriers touch."""
    shapes = shapely.union_all(barriers.geometry.values)
    opened = graph.copy()
    opened.remove_edges_from(
        [
            (u, v, k)
            for u, v, k, d in graph.edges(keys=True, data=True)
            if d["geometry"].intersects(shapes)
        ]
    )
    return opened


def fire_engine_time(u, v, data):
    profile = routing.get_profile("fire_engine")
    return min(
        d["length"] / (profile.speeds([d["speed_kph"]], [d["road_class"]])[0] / 3.6)
        for d in data.values()
    )


# -- every road closed -------------------------------------------------------------------


@pytest.fixture(scope="session")
def shut(graph) -> routing.Router:
    return routing.Router(graph, profile="fire_engine").with_closures(metric([EVERYTHING]))


def test_networkx_agrees_that_a_full_closure_leaves_no_path(graph):
    opened = without(graph, metric([EVERYTHING]))
    ends = [node_of(graph, n) for n in [*STATIONS.values(), *INCIDENTS.values()]]
    assert opened.number_of_edges() == 0
    assert not any(nx.has_path(opened, a, b) for a in ends for b in ends if a != b)


def test_full_closure_dispatch_gives_every_incident_a_row_and_the_reason(shut):
    routes = shut.dispatch(incidents(), stations(), k=2)
    assert routes["incident_id"].tolist() == list(INCIDENTS)
    assert routes["resource_id"].isna().all() and routes["eta_s"].isna().all()
    assert routes["incident_snap_m"].eq(0).all()  # the gap to their (closed) roads
    assert routes["reason"].eq("every road is closed for fire_engine by the closures").all()
    assert shut.closures["closed_edges"].iat[0] == len(shut.graph.edges)
    same = routing.compare_dispatch(routes, routes)
    assert not same["rerouted"].any()  # no route before and after is no change
    again = shut.with_closures(metric([EVERYTHING])).dispatch(incidents(), stations())
    assert again["reason"].eq("every road is closed for fire_engine by the closures").all()


def test_full_closure_allocation_sends_no_unit_and_says_why(shut):
    result = shut.allocate(incidents(priority=[1, 2, 1, 3]), stations())
    assert result.plan["resource_id"].isna().all() and result.plan["eta_s"].isna().all()
    assert result.plan["reason"].eq("every road is closed for fire_engine by the closures").all()
    assert result.totals["served"].eq(0).all()


def test_full_closure_service_areas_are_empty_with_the_reason(shut):
    areas = shut.service_areas(stations(), cutoffs=[120, 300])
    assert len(areas) == 2 * len(STATIONS)
    assert areas.geometry.is_empty.all() and areas["area_km2"].eq(0).all()
    assert areas["reason"].eq("every road is closed for fire_engine by the closures").all()


def test_full_closure_coverage_covers_nothing_and_warns(shut):
    targets = incidents()
    with pytest.warns(layers.CimWarning, match="every road is closed for fire_engine"):
        covered = shut.coverage(stations(), targets, cutoff=300)
    assert not covered["covered"].any() and covered["eta_s"].isna().all()
    assert covered["unit_id"].isna().all()


@pytest.fixture(scope="session")
def ring_town() -> cim.CityModel:
    """A ring road only: a loop at one crossing, so there is no edge to snap to."""
    return cim.CityModel(
        {
            "roads": metric(
                [shapely.LineString(shapely.Point(X + 200, Y + 200).buffer(100).exterior)],
                highway=["primary"],
                oneway=[False],
                name=["环路"],
                maxspeed=[None],
            ),
            "districts": metric(
                [shapely.box(X, Y, X + 500, Y + 500)], code=["1"], name=["区"], parent_code=["0"]
            ),
            "sensors": metric(
                [shapely.Point(X + 300, Y + 200)],
                id=["cam"],
                kind=["camera"],
                range_m=[50.0],
                status=["online"],
            ),
            "buildings": metric(
                [shapely.box(X + 10, Y + 10, X + 30, Y + 30)],
                id=["b"],
                height_m=[10.0],
                use=["residential"],
            ),
            "facilities": metric(
                [shapely.Point(X + 100, Y + 100)],
                id=["f"],
                kind=["fire_station"],
                name=["站"],
                units=[1],
            ),
        }
    )


def test_sensor_coverage_with_no_road_to_follow_covers_no_road(ring_town):
    row = sensor_coverage(ring_town, levels=["district"]).iloc[0]
    assert row.sensors == 1 and row.road_km > 0.5
    assert row.road_network_covered_share == 0.0


def test_siting_with_no_road_to_follow_adds_nothing_and_says_why(ring_town):
    with pytest.warns(layers.CimWarning, match="no building can be reached"):
        found = site_fire_stations(ring_town, candidates=5)
    assert found.sites.empty and found.covered_before == found.covered_after == 0.0


# -- part of the city closed -------------------------------------------------------------


@pytest.fixture(scope="session")
def cut(graph):
    barriers = midpoint_boxes(ISLAND + CORNER)
    return routing.Router(graph, profile="fire_engine").with_closures(barriers), without(
        graph, barriers
    )


def test_partial_closure_etas_equal_networkx_without_the_closed_edges(graph, cut):
    router, opened = cut
    assert (
        router.closures["closed_edges"].iat[0] == graph.number_of_edges() - opened.number_of_edges()
    )
    routes = router.dispatch(incidents(), stations(), k=len(STATIONS))
    found = {
        (r.incident_id, r.resource_id): r.eta_s for r in routes.itertuples() if pd.notna(r.eta_s)
    }
    expected = {}
    for incident, spot in INCIDENTS.items():
        for station, home in STATIONS.items():
            source, target = node_of(graph, home), node_of(graph, spot)
            if nx.has_path(opened, source, target):
                expected[incident, station] = nx.shortest_path_length(
                    opened, source, target, weight=fire_engine_time
                )
    assert found.keys() == expected.keys()
    for pair, eta in expected.items():
        assert found[pair] == pytest.approx(eta, rel=1e-9)
    # the island is served by its own station only, and its station serves nothing else
    assert {s for i, s in found if i == "i-island"} == {"A"}
    assert {i for i, s in found if s == "A"} == {"i-island"}


def test_an_incident_cut_off_by_the_closures_gets_the_reason(cut):
    router, _ = cut
    routes = router.dispatch(incidents(), stations()).set_index("incident_id")
    corner = routes.loc["i-corner"]
    assert pd.isna(corner.resource_id) and np.isnan(corner.eta_s)
    assert corner.reason.startswith("no available resource can reach this point with the closures")
    assert routes.drop(index="i-corner")["eta_s"].notna().all()
    plan = router.allocate(incidents(priority=[1, 1, 1, 1]), stations(units=[1, 1, 1]))
    optimal = plan.plan.query("method == 'optimal'").set_index("incident_id")
    assert optimal.loc["i-corner", "reason"] == corner.reason
    assert optimal.loc["i-island", "resource_id"] == "A"
    areas = router.service_areas(stations().iloc[[0]], cutoffs=[10_000])
    island = metric([shapely.box(X - 30, Y - 30, X + STEP + 30, Y + STEP + 30)]).geometry.iloc[0]
    assert island.contains(areas.geometry.iloc[0]) and areas["reason"].isna().all()


# -- the command line --------------------------------------------------------------------


@pytest.fixture(scope="session")
def town(lattice, tmp_path_factory):
    folder = tmp_path_factory.mktemp("town")
    cim.CityModel({"roads": lattice}, name="格子城").save(folder / "city")
    for name, table in (("incidents", incidents()), ("stations", stations(units=[2, 2, 2]))):
        path = folder / f"{name}.csv"
        pd.DataFrame(table.drop(columns="geometry")).assign(
            lon=table.geometry.x, lat=table.geometry.y
        ).to_csv(path, index=False)
    metric([EVERYTHING]).to_file(folder / "everything.geojson")
    return folder


def dispatch(town, out, *args):
    result = CliRunner().invoke(
        app,
        [
            "dispatch",
            "--city", str(town / "city"),
            "--incidents", str(town / "incidents.csv"),
            "--resources", str(town / "stations.csv"),
            "--out", str(out),
            *args,
        ],
    )  # fmt: skip
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result, " ".join(result.output.split())


def test_cli_full_closure_reports_every_incident_without_a_route(town, tmp_path):
    result, said = dispatch(
        town, tmp_path, "--closures", str(town / "everything.geojson"), "--profile", "fire_engine"
    )
    assert result.exit_code == 0, said
    reason = "every road is closed for fire_engine by the closures"
    routes = pd.read_csv(tmp_path / "routes.csv")
    assert routes["incident_id"].tolist() == list(INCIDENTS)
    assert routes["reason"].eq(reason).all() and routes["eta_s"].isna().all()
    report = (tmp_path / "report.md").read_text("utf-8")
    assert f"{len(INCIDENTS)} without a route" in report and "nan" not in report
    assert "(4 of them no route at all)" in report  # all reached before the closures
    assert report.count(f"| {markdown_text(reason)} |") == len(INCIDENTS)
    assert "0 incidents routed, 4 without a route" in said and reason in said


def test_cli_all_bad_rows_lists_the_reasons_and_writes_bad_rows(town, tmp_path):
    bad = tmp_path / "bad.csv"
    pd.DataFrame(
        {"id": [None, "far", "nowhere"], "lon": [104.07, 300.0, None], "lat": [30.67, 30.6, 30.6]}
    ).to_csv(bad, index=False)
    out = tmp_path / "out"
    result, said = dispatch(town, out, "--incidents", str(bad))
    assert result.exit_code == 1
    reasons = ["no id", "coordinates out of range", "no coordinates"]
    for reason in reasons:
        assert reason in said.split("error:")[0]  # shown before the error line
    assert re.search(r"error: nothing to dispatch: no usable rows in bad\.csv", said)
    assert pd.read_csv(out / "bad_rows.csv")["reason"].tolist() == reasons
    report = (out / "report.md").read_text("utf-8")
    assert "Nothing could be dispatched" in report and "## Input rows left out (3)" in report


def test_cli_mean_eta_is_over_the_first_units(town, tmp_path):
    result, said = dispatch(town, tmp_path, "--k", "3")
    assert result.exit_code == 0, said
    routes = pd.read_csv(tmp_path / "routes.csv")
    first = routes[routes["rank"] == 1]
    assert len(routes) > len(first)  # later ranks are there, and slower
    shown = float(re.search(r"mean ETA[^0-9]*([0-9.]+) min", said).group(1))
    assert shown == pytest.approx(first["eta_s"].mean() / 60, abs=0.051)
    assert shown != pytest.approx(routes["eta_s"].mean() / 60, abs=0.051)


# -- times with and without a zone -------------------------------------------------------

MIXED = [
    "2026-07-15 08:00",
    "2026-07-15T00:30:00Z",
    "2026-07-15T09:00:00+08:00",
    "2026-07-15T03:00:00+02:00",
]
LOCAL = pd.to_datetime(
    ["2026-07-15 08:00", "2026-07-15 08:30", "2026-07-15 09:00", "2026-07-15 09:00"]
)


def test_a_layer_with_naive_and_zoned_times_is_read_as_local_time():
    layer = points("i", [(104.06, 30.65)] * 4, kind="fire", priority=1, reported_at=MIXED)
    valid = layers.validate(layer, "incidents")
    assert valid["reported_at"].tolist() == LOCAL.tolist()
    objects = layer.assign(reported_at=pd.Series([pd.Timestamp(t) for t in MIXED], dtype=object))
    assert layers.validate(objects, "incidents")["reported_at"].tolist() == LOCAL.tolist()
    with pytest.raises(layers.SchemaError, match=r"unreadable times \(rows 1\)"):
        layers.validate(layer.assign(reported_at=[MIXED[0], "soon", *MIXED[2:]]), "incidents")


def test_events_with_naive_and_zoned_times_are_all_taken():
    raw = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "source": "patrol",
            "reported_at": MIXED,
            "lon": 104.06,
            "lat": 30.66,
        }
    )
    good, bad = check_events(raw)
    assert bad.empty and good["reported_at"].tolist() == LOCAL.tolist()


def test_greedy_allocation_orders_zoned_times_on_the_local_clock(graph):
    # one unit, two equal incidents: the earlier report gets it. 00:15Z is 08:15 in Chengdu,
    # after "08:10"; read without its zone it would wrongly come first.
    router = routing.Router(graph, profile="fire_engine")
    calls = (
        incidents(priority=1)
        .iloc[[1, 2]]
        .assign(reported_at=["2026-07-15 08:10", "2026-07-15T00:15:00Z"])
    )
    plan = router.allocate(calls, stations(units=[0, 1, 0])).plan.query("method == 'greedy'")
    assert plan.set_index("incident_id")["resource_id"].to_dict() == {
        "i-east": "B",
        "i-north": None,
    }
