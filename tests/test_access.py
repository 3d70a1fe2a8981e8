"""15-minute living circles on the walking network (issue 19)."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

import cim
import cim.access
import layers
import routing

TINY_OSM = Path(__file__).parent / "data" / "tiny.osm"
JINAN_ROADS = Path(__file__).parent / "data" / "jinan_roads.geojson"


def _roads(rows):
    """A roads layer from (highway, oneway, extra tags, coordinates) rows."""
    return gpd.GeoDataFrame(
        [
            {"highway": h, "oneway": o, "name": None, "maxspeed": None, **tags}
            for h, o, tags, _ in rows
        ],
        geometry=[shapely.LineString(c) for *_, c in rows],
        crs=4326,
    )


def test_the_walking_graph_is_two_way_and_leaves_out_motorways_and_bare_trunk_roads():
    a, b, c, d, e = (
        (104.060, 30.650),
        (104.061, 30.650),
        (104.062, 30.650),
        (104.063, 30.650),
        (104.064, 30.650),
    )
    roads = _roads(
        [
            ("residential", True, {}, [a, b]),  # one-way for cars
            ("footway", False, {}, [b, c]),
            ("trunk", False, {"sidewalk": "both"}, [c, d]),
            ("trunk", False, {}, [d, e]),
            ("motorway", True, {}, [a, e]),
            ("steps", False, {"foot": "no"}, [b, d]),
        ]
    )
    with pytest.warns(routing.ExcludedRoadsWarning, match="3 of 6 road lines"):
        graph = routing.walking_graph(roads, speed_mps=1.0)
    assert graph.graph["excluded"] == {
        "highway=trunk without sidewalk": 1,
        "highway=motorway": 1,
        "foot=no": 1,
    }
    assert sorted(d["highway"] for *_, d in graph.edges(data=True)) == sorted(
        ["residential", "footway", "trunk"] * 2
    )
    for u, v, data in graph.edges(data=True):
        assert graph.has_edge(v, u)
        assert data["travel_time"] == pytest.approx(data["length"] / 1.0)
    # a–b–c–d walk end to end both ways; e is not reached at all
    ends = {n for n, deg in graph.degree() if deg == 2}
    assert (
        len(ends) == 2 and nx.has_path(graph, *ends) and nx.has_path(graph, *reversed(list(ends)))
    )


def test_the_walking_graph_from_osm_takes_footways_and_walks_one_way_streets_both_ways():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        walking = routing.walking_graph_from_osm(TINY_OSM)
    highways = [d["highway"] for *_, d in walking.edges(data=True)]
    assert highways.count("footway") == 2 and highways.count("residential") == 2
    assert walking.graph["excluded"] == {"access=private": 1}
    assert walking.graph["walk_speed_mps"] == layers.standards.WALK_SPEED_MPS


def test_the_walking_router_is_built_again_when_the_roads_change_and_vitals_say_why_not(street):
    roads = street[0].layer("roads")
    city = cim.CityModel({"roads": roads.iloc[:1]}, name="tiny")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        before = cim.access.walking_router(city)
        assert cim.access.walking_router(city) is before
        city.add_layer("roads", roads)
        after = cim.access.walking_router(city)
    assert before.graph.number_of_edges() == 2 and after.graph.number_of_edges() == 6
    hospital = gpd.GeoDataFrame(
        {"id": ["h"], "kind": ["hospital"], "name": ["医院"], "units": [1]},
        geometry=_at((0, 0)).to_numpy(),
        crs=4326,
    )
    home = gpd.GeoDataFrame(
        {"id": ["r"], "height_m": [9.0], "use": ["residential"]},
        geometry=[_at((200, 20)).iloc[0].buffer(0.0001)],
        crs=4326,
    )
    motorway = cim.CityModel(
        {"roads": roads.assign(highway="motorway"), "facilities": hospital, "buildings": home},
        name="tiny",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        row = motorway.vitals("city", indicators=["clinic_15min_share"]).iloc[0]
    assert row["status"] == "no_data" and row["note"].startswith("no walking network: roads: no")


def test_a_pedestrian_needs_a_positive_speed():
    with pytest.raises(layers.InputError, match="speed_mps"):
        routing.pedestrian(0)


# --- accessibility ------------------------------------------------------------------------

METRIC = 4544  # CGCS2000 / 3-degree Gauss-Kruger CM 105E, Chengdu's zone
X0, Y0 = 390_000.0, 3_392_000.0


def _at(*xy_m):
    """Lon/lat points at metre offsets from (X0, Y0) in EPSG:4544."""
    return gpd.GeoSeries([shapely.Point(X0 + x, Y0 + y) for x, y in xy_m], crs=METRIC).to_crs(4326)


@pytest.fixture(scope="session")
def street():
    """Two parallel streets 200 m apart joined only at their east end (2,000 m), services on
    the south one at 0 (clinic), 600 (market), 1,000 (school) and 1,500 m (kindergarten)."""
    south, north, link = (
        _at((0, 0), (2000, 0)),
        _at((0, 200), (2000, 200)),
        _at((2000, 0), (2000, 200)),
    )
    roads = gpd.GeoDataFrame(
        {
            "highway": "residential",
            "oneway": False,
            "name": ["南街", "北街", "东街"],
            "maxspeed": None,
        },
        geometry=[shapely.LineString(s.to_numpy()) for s in (south, north, link)],
        crs=4326,
    )
    city = cim.CityModel({"roads": roads}, name="tiny")
    services = gpd.GeoDataFrame(
        {"id": ["c", "m", "s", "k"], "kind": ["clinic", "market", "school", "kindergarten"]},
        geometry=_at((0, 0), (600, 0), (1000, 0), (1500, 0)).to_numpy(),
        crs=4326,
    )
    # A, B, C on the south street; D on the north street, 200 m from the clinic as the crow
    # flies; E 500 m from any street
    homes = gpd.GeoDataFrame(
        {"id": list("ABCDE"), "population": [10, 20, 30, 40, 50]},
        geometry=_at((200, 0), (900, 0), (1400, 0), (0, 200), (1000, -500)).to_numpy(),
        crs=4326,
    )
    return city, services, homes


@pytest.fixture(scope="session")
def street_found(street):
    city, services, homes = street
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cim.access.accessibility(
            city,
            ["clinic", "school", "market", "kindergarten"],
            homes=homes,
            services=services,
            k=2,
        )


def test_the_gb50180_requirements_each_home_meets_match_a_hand_computed_street(street_found):
    found = street_found
    table = found.homes.set_index("id")
    # walking metres by hand: along the street, D round by the east end (2,000 + 200 + 2,000)
    expected = {"A": 200, "B": 900, "C": 1400, "D": 4200}
    assert table["clinic_1_m"].loc[list("ABCD")].tolist() == pytest.approx(
        list(expected.values()), abs=0.5
    )
    assert table.loc["D", "clinic_straight_m"] == pytest.approx(200, abs=0.5)
    assert table.loc["A", "market_2_m"] == pytest.approx(np.inf)  # one market only
    assert table.loc["B", "school_1_m"] == pytest.approx(100, abs=0.5)
    assert table.loc["A", "clinic_n300"] == 1 and table.loc["B", "market_n500"] == 1
    requirement = {
        #       15min: school clinic market   10min: school market   5min: kindergarten clinic
        "A": [True, True, True, False, True, False, True],
        "B": [True, True, True, True, True, False, False],
        "C": [True, False, True, True, False, True, False],
        "D": [False, False, False, False, False, False, False],
    }
    columns = [
        "15min_school", "15min_clinic", "15min_market",
        "10min_school", "10min_market",
        "5min_kindergarten", "5min_clinic",
    ]  # fmt: skip
    for home, met in requirement.items():
        assert table.loc[home, columns].tolist() == met, home
    assert table["meets_15min"].loc[list("ABCD")].tolist() == [True, True, False, False]
    assert table["meets_10min"].loc[list("ABCD")].tolist() == [False, True, False, False]
    assert table["meets_5min"].loc[list("ABCD")].tolist() == [False, False, False, False]
    # as the crow flies D is 200 m from the clinic: the straight line calls it served
    assert table.loc["D", "meets_5min_straight"] == table.loc["C", "meets_5min_straight"] == False  # noqa: E712
    assert bool(table.loc["D", "clinic_straight_m"] <= 300)
    # E joins no street: reported, with unknown requirements, never counted as served
    assert "beyond the snap limit of 300 m" in table.loc["E", "reason"]
    assert pd.isna(table.loc["E", "meets_15min"]) and np.isnan(table.loc["E", "clinic_1_m"])
    summary = found.summary().set_index("circle")
    assert summary.loc["15min", ["measured", "walk_homes"]].tolist() == [4, 2]
    assert summary.loc["15min", "unchecked"] == "elderly_care, sports"


def test_shares_per_unit_weigh_residents_and_leave_out_homes_off_the_network(street, street_found):
    roads = street[0].layer("roads")
    west, east = (
        shapely.box(X0 + x0, Y0 - 600, X0 + x1, Y0 + 300) for x0, x1 in ((-100, 1100), (1100, 2100))
    )
    communities = gpd.GeoDataFrame(
        {"code": ["w", "e"], "name": ["西社区", "东社区"], "parent_code": "s"},
        geometry=[west, east],
        crs=METRIC,
    ).to_crs(4326)
    city = cim.CityModel({"roads": roads, "communities": communities}, name="tiny")
    table = street_found.by_unit(city, "community").set_index("unit_code")
    # west holds A (10 residents), B (20), D (40) and E (50, off the network); east holds C (30)
    assert table.loc["w", ["homes", "residents", "cut_off"]].tolist() == [4, 120, 1]
    assert table.loc["w", "share_15min"] == pytest.approx(30 / 70)  # A and B
    assert table.loc["w", "share_5min_clinic"] == pytest.approx(10 / 70)  # A on foot
    assert table.loc["w", "share_5min_straight"] == 0.0  # no kindergarten within 300 m of A, D
    assert table.loc["e", ["share_15min", "share_5min_kindergarten"]].tolist() == [0.0, 1.0]


def test_k_nearest_gives_every_node_its_nearest_services_by_hand(street):
    """Router.k_nearest without targets: the street ends, services part-way along the streets."""
    city, services, _ = street
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        router = cim.access.walking_router(city)
    near = router.k_nearest(services, k=2)
    graph = router.graph
    nodes = list(graph.nodes)
    lon, lat = ([graph.nodes[n][axis] for n in nodes] for axis in ("x", "y"))
    xy = gpd.GeoSeries.from_xy(lon, lat, crs=4326).to_crs(METRIC).get_coordinates().to_numpy()
    place = {(round(x - X0), round(y - Y0)): n for n, (x, y) in zip(nodes, xy, strict=True)}
    found = {
        corner: near[near["target"] == place[corner]][["source_id", "cost"]].to_numpy().tolist()
        for corner in ((0, 0), (2000, 0), (2000, 200), (0, 200))
    }
    expected = {
        (0, 0): [["c", 0], ["m", 600]],
        (2000, 0): [["k", 500], ["s", 1000]],
        (2000, 200): [["k", 700], ["s", 1200]],
        (0, 200): [["k", 2700], ["s", 3200]],  # round by the east end
    }
    for corner, rows in expected.items():
        assert [r[0] for r in found[corner]] == [r[0] for r in rows], corner
        assert [r[1] for r in found[corner]] == pytest.approx([r[1] for r in rows], abs=0.01)
    with pytest.raises(layers.InputError, match="k must be at least 1"):
        router.k_nearest(services, k=0)


def test_unknown_or_absent_service_kinds_are_refused_by_name(street):
    city, services, homes = street
    with pytest.raises(
        layers.InputError,
        match=r"unknown service kind 'hospitals'; choose kinds \(CLI: --kinds\) from clinic",
    ):
        cim.access.accessibility(city, ["hospitals"], homes=homes, services=services)
    with pytest.raises(layers.EmptyLayerError, match=r"no elderly_care .* pass services="):
        cim.access.accessibility(city, ["clinic", "elderly_care"], homes=homes, services=services)


def _networkx_metres(router: routing.Router, homes, services) -> np.ndarray:
    """Walking metres from every service to every home (services x homes) by networkx, on the
    router's graph with the points spliced into their streets (a street's two directions are
    one chain) and their straight gaps to it added."""
    graph = router.graph
    spots = {"h": router.snap(homes), "s": router.snap(services)}
    spliced = nx.Graph()  # the shortest of parallel edges kept
    for u, v, length in sorted(graph.edges(data="length"), key=lambda e: -e[2]):
        spliced.add_edge(u, v, weight=length)
    edges = list(graph.edges(keys=True, data="length"))
    on_street: dict[tuple, list] = {}
    for prefix, snapped in spots.items():
        for i in snapped.on_road:
            u, v, _, length = edges[snapped.edge[i]]
            t = snapped.fraction[i]
            street = (u, v, round(length, 6)) if u <= v else (v, u, round(length, 6))
            on_street.setdefault(street, []).append((t if u <= v else 1 - t, (prefix, i)))
    for (u, v, length), points in on_street.items():
        chain = [(0.0, u), *sorted(points), (1.0, v)]
        for (a, p), (b, q) in itertools.pairwise(chain):
            spliced.add_edge(p, q, weight=(b - a) * length)
    metres = np.full((len(services), len(homes)), np.inf)
    for j in spots["s"].on_road:
        reach = nx.single_source_dijkstra_path_length(spliced, ("s", j))
        metres[j] = [reach.get(("h", i), np.inf) for i in range(len(homes))]
        metres[j] += spots["h"].distance_m + spots["s"].distance_m[j]
    return metres


def _assert_equal_to_networkx(found, router) -> int:
    """Every (home, service) pair among each home's k nearest equals networkx, and the nearest
    is the nearest; returns how many pairs were checked."""
    homes = found.homes.geometry.representative_point()
    metres = _networkx_metres(router, homes, found.services)
    known = found.homes["reason"].isna().to_numpy()
    ids = found.services["id"].to_numpy()
    checked = 0
    for kind in found.kinds:
        mine = np.flatnonzero(found.services["kind"].to_numpy() == kind)
        rank = 1
        while f"{kind}_{rank}_id" in found.homes.columns:
            chosen = found.homes[f"{kind}_{rank}_id"].to_numpy()
            for j in mine:
                rows = np.flatnonzero(chosen == ids[j])
                got = found.homes[f"{kind}_{rank}_m"].to_numpy()[rows]
                assert got == pytest.approx(metres[j, rows], rel=1e-6), ids[j]
                checked += len(rows)
            rank += 1
        nearest = metres[mine].min(axis=0)
        assert found.homes[f"{kind}_1_m"].to_numpy()[known] == pytest.approx(
            nearest[known], rel=1e-6
        ), kind
    return checked


def test_walking_distances_to_the_k_nearest_equal_networkx_on_every_pair(city):
    """Every (home, service) pair of the 3 nearest clinics and schools of the sample's 800
    buildings (4,000+ pairs), against networkx on the walking graph with the points spliced in."""
    found = cim.access.accessibility(city, ["clinic", "school"], homes="buildings", k=3)
    assert _assert_equal_to_networkx(found, cim.access.walking_router(city)) >= 1000


def test_walking_distances_on_jinan_equal_networkx_too():
    """The second city: Jinan's real roads around 大明湖 (tests/data, ODbL), 400 homes and 30
    services at random places (synthetic, seeded), 2,000+ pairs."""
    roads = layers.load("roads", JINAN_ROADS)
    jinan = cim.CityModel({"roads": roads}, name="济南")
    rng = np.random.default_rng(19)
    west, south, east, north = roads.total_bounds

    def scatter(count, **columns):
        xy = rng.uniform([west, south], [east, north], (count, 2))
        return gpd.GeoDataFrame(columns, geometry=gpd.points_from_xy(*xy.T), crs=4326)

    homes = scatter(400, id=[f"h{i}" for i in range(400)], synthetic=True)
    services = scatter(30, kind=["clinic"] * 18 + ["market"] * 12, synthetic=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = cim.access.accessibility(
            jinan, ["clinic", "market"], homes=homes, services=services, k=3
        )
    assert _assert_equal_to_networkx(found, cim.access.walking_router(jinan)) >= 2000


def test_gaps_and_new_clinics_on_walking_distance_close_the_5_minute_circle(street, street_found):
    """The walking graph's nodes are the street ends: only D's (0, 200) end can serve anyone
    new within 300 m. B and C are out of every site's reach; E is unknown, never a gap."""
    city = street[0]
    assert sorted(cim.access.gaps(street_found, "5min", kind="clinic")["id"]) == ["B", "C", "D"]
    end = _at((0, 200)).iloc[0]
    fewest = cim.access.site_services(city, street_found, "clinic", circle="5min")
    assert len(fewest.sites) == 1 and fewest.sites.geometry.iat[0].distance(end) < 1e-6
    # over the homes some site can serve (A 10, D 40 residents): 0.2 before, all after
    assert (fewest.covered_before, fewest.covered_after) == pytest.approx((0.2, 1.0))
    most = cim.access.site_services(city, street_found, "clinic", circle="5min", count=1)
    assert most.sites.geometry.iat[0].distance(end) < 1e-6
    assert (most.covered_before, most.covered_after) == pytest.approx((0.1, 0.5))  # of A-D
    with pytest.raises(layers.InputError, match="5min market was not checked"):
        cim.access.gaps(street_found, "5min", kind="market")


# --- views and the command line ---------------------------------------------------------------


def test_the_access_view_colours_homes_by_circle_and_draws_walking_isochrones(street, street_found):
    from cim.views import access_view
    from cim.views.access import ACCESS_CLASSES
    from cim.views.style import MISSING_COLOR

    city = street[0]
    clinic = _at((0, 0)).iloc[0]
    deck = access_view(city, street_found, kind="clinic", isochrones_from=clinic)
    assert [layer.id for layer in deck.layers] == [
        "roads",
        "isochrones",
        "homes",
        "services",
        "origin",
    ]
    homes = next(layer for layer in deck.layers if layer.id == "homes")
    colour = {c[:3].__repr__(): label for _, label, c in ACCESS_CLASSES}
    drawn = [colour.get(row["color"][:3].__repr__(), "missing") for row in homes.data]
    # A 200 m, B 900 m, C 1,400 m, D 4,200 m round the block, E off the network
    assert drawn == [ACCESS_CLASSES[i][1] for i in (0, 2, 3, 3)] + ["missing"]
    assert homes.data[4]["color"] == MISSING_COLOR
    # 5 / 10 / 15 minutes at 1.2 m/s are 360 / 720 / 1,080 m along the street from the clinic
    areas = cim.access.walking_router(city).service_areas(
        gpd.GeoDataFrame({"id": ["o"]}, geometry=[clinic], crs=4326),
        cutoffs=[300, 600, 900],
        objective="time",
    )
    a, b = _at((200, 0), (900, 0))
    inside = [(area.contains(a), area.contains(b)) for area in areas.geometry]
    assert inside == [(True, False), (True, False), (True, True)]
    assert "步行 5 分钟（1.2 m/s）" in deck.description
    # the gaps map of the 10-minute circle: B alone meets it (school 100 m, market 300 m)
    gaps = access_view(city, street_found, circle="10min")
    homes = next(layer for layer in gaps.layers if layer.id == "homes")
    assert [row["color"][:3] for row in homes.data] == [
        [215, 48, 39],
        [26, 152, 80],
        [215, 48, 39],
        [215, 48, 39],
        MISSING_COLOR[:3],
    ]
    services = next(layer for layer in gaps.layers if layer.id == "services")
    assert len(services.data) == 2  # the school and the market the circle checks
    with pytest.raises(layers.InputError, match="circle '20min' was not checked"):
        access_view(city, street_found, circle="20min")


@pytest.fixture(scope="session")
def accessed(invoke, made_once):
    def make(folder: Path) -> str:
        result = invoke("access", "--kinds", "clinic,school,market", "--out", folder / "run")
        assert result.exit_code == 0, result.output
        return result.output

    folder, stdout = made_once("accessed", make)
    return folder / "run", stdout


def test_access_cli_writes_homes_units_report_and_map(accessed, city):
    out, stdout = accessed
    assert {p.name for p in out.iterdir()} == {
        "access_by_building.parquet",
        "access_by_unit.csv",
        "report.md",
        "map.html",
    }
    homes = gpd.read_parquet(out / "access_by_building.parquet")
    residential = city.layer("buildings").query("use == 'residential'")
    assert sorted(homes["id"]) == sorted(residential["id"]) and homes.crs.to_epsg() == 4326
    assert {"clinic_1_m", "clinic_3_id", "market_n500", "school_straight_m", "meets_15min"} <= set(
        homes.columns
    )
    units = pd.read_csv(out / "access_by_unit.csv", dtype={"unit_code": str})
    assert set(units["level"]) == {"community", "street", "district"}
    for level, group in units.groupby("level"):
        assert group["homes"].sum() <= len(homes), level
    report = (out / "report.md").read_text("utf-8")
    for column, kind, metres in (("10min_market", "market", 500), ("15min_clinic", "clinic", 1000)):
        walking = int(homes[column].sum())
        straight = int((homes[f"{kind}_straight_m"] <= metres).sum())
        assert f"| {walking:,} ({walking / len(homes):.1%}) | {straight:,} (" in report
    assert walking < straight  # the walk is longer than the line
    assert "## Circles met: walking against a straight line" in report
    assert "Living circles on foot: 166 homes" in stdout


@pytest.mark.browser
def test_access_map_renders_the_homes_and_the_isochrones_offline(accessed, render):
    shown = render(accessed[0] / "map.html", evaluate="window.cimDeck.props.layers.map(l => l.id)")
    assert shown.offline and shown.drawn > 20_000
    assert {"homes", "isochrones", "services", "roads"} <= set(shown.value)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--kinds", "clinic,hospitals"), "error: unknown service kind 'hospitals'"),
        (("--kinds", "elderly_care"), "error: services: no elderly_care"),
        (("--kinds", "elderly_care"), "pass services= (CLI: --services FILE) points"),
        (("--homes", "castles"), "error: homes (CLI: --homes) must be one of residential"),
        (("--k", "0"), "error: k (CLI: --k) must be at least 1"),
        (("--speed", "0"), "error: speed_mps (CLI: --speed) must be more than 0 m/s"),
        (("--from", "east"), "error: the walking origin (CLI: --from) must be two numbers LON,LAT"),
    ],
)
def test_access_cli_refuses_bad_input_in_one_line(invoke, tmp_path, args, message):
    result = invoke("access", "--out", tmp_path / "o", *args)
    assert result.exit_code == 1 and message in " ".join(result.output.split())
    assert "Traceback" not in result.output


# --- what a new user runs into (the review of issue 19) -----------------------------------


def test_services_files_are_read_as_points_with_a_kind_whatever_their_format(tmp_path, city):
    csv = tmp_path / "services.csv"
    csv.write_text(
        "id,kind,lon,lat\ns1,school,104.07,30.66\ns2,bank,104.08,30.66\ns3,school,,\n",
        encoding="gbk",
    )
    found, left_out = cim.access.read_services(csv, reference=city.references())
    assert found["id"].tolist() == ["s1"] and found.crs.to_epsg() == 4326
    assert sorted(left_out["reason"]) == [
        "kind 'bank' is not one of clinic, school, kindergarten, market, elderly_care, "
        "sports, park",
        "no coordinates",
    ]
    geojson = tmp_path / "services.geojson"
    found.to_file(geojson)
    assert cim.access.read_services(geojson)[0]["kind"].tolist() == ["school"]
    assert cim.access.read_services(TINY_OSM)[0]["kind"].tolist() == ["clinic"]
    nokind = tmp_path / "nokind.csv"
    nokind.write_text("id,lon,lat\na,104.07,30.66\n", encoding="utf-8")
    with pytest.raises(layers.InputError, match=r"nokind.csv: needs a 'kind' column"):
        cim.access.read_services(nokind)
    empty = tmp_path / "empty.csv"
    empty.write_text("id,kind,lon,lat\ns9,bank,104.07,30.66\n", encoding="utf-8")
    with pytest.raises(
        layers.InputError, match=r"empty.csv: no usable service points \(kind 'bank'"
    ):
        cim.access.read_services(empty)


@pytest.mark.parametrize(
    ("origin", "message"),
    [
        ("104.06,30.66,5", "must be two numbers LON,LAT"),
        ("30.66,104.06", "is not a lon/lat"),
        ("117.0,36.6", "lies outside chengdu (lon 102.9700…104.9159"),
        ("103.5,30.9", "from the nearest walkable way, beyond the snap limit of 300 m"),
    ],
)
def test_a_walking_origin_outside_the_city_is_refused_before_any_output(
    invoke, tmp_path, origin, message
):
    result = invoke("access", "--out", tmp_path / "o", "--from", origin)
    assert result.exit_code == 1 and message in " ".join(result.output.split()), result.output
    assert "(CLI: --from)" in result.output and not (tmp_path / "o").exists()


@pytest.fixture(scope="session")
def accessed_with_file(invoke, made_once):
    """``cim access`` with schools from a GBK CSV with lon/lat in GCJ-02 (Amap)."""

    def make(folder: Path) -> str:
        csv = folder / "学校.csv"
        csv.write_text(
            "id,kind,name,lon,lat\ns1,school,一中,104.0725,30.6575\n"
            "s2,school,二中,104.0825,30.6675\ns3,bank,银行,104.08,30.66\n",
            encoding="gbk",
        )
        result = invoke(
            "access",
            *("--kinds", "school,clinic", "--services", csv, "--crs", "gcj02"),
            *("--out", folder / "run"),
        )
        assert result.exit_code == 0, result.output
        return result.output

    folder, stdout = made_once("accessed_with_file", make)
    return folder / "run", stdout


def test_access_cli_reads_a_services_csv_in_its_crs_and_encoding(accessed_with_file):
    out, stdout = accessed_with_file
    homes = gpd.read_parquet(out / "access_by_building.parquet")
    assert {"services:s1", "services:s2"} <= set(homes["school_1_id"])
    assert "left out: 学校.csv kind (s3): kind 'bank' is not one of" in " ".join(stdout.split())


def test_the_report_says_where_each_kind_came_from_and_warns_when_few(accessed, accessed_with_file):
    out, stdout = accessed
    report = (out / "report.md").read_text("utf-8")
    assert "| clinic (医疗卫生) | 28 | facilities layer, kind: hospital (28) |" in report
    assert "| school (中小学) | 2 | buildings layer, building: school (2) |" in report
    assert "few school services (2, fewer than 3)" in report and "`--services city.osm`" in report
    assert "few clinic" not in report
    assert "from the same point inside each home as the walk" in report  # not the edge
    assert "few: school: 2 from buildings layer" in stdout
    # no population column: the weight is floor area, and named so
    assert "floor area in m² (floors × footprint), a proxy for residents" in report
    units = pd.read_csv(out / "access_by_unit.csv")
    assert "residents_proxy_m2" in units.columns and "residents" not in units.columns
    homes = gpd.read_parquet(out / "access_by_building.parquet")
    assert "residents_proxy_m2" in homes.columns
    report = (accessed_with_file[0] / "report.md").read_text("utf-8")
    assert (
        "| school (中小学) | 4 | buildings layer, building: school (2); --services 学校.csv (2) |"
        in report
    )
    assert "few school" not in report


def test_homes_with_a_population_are_weighed_by_residents(street_found):
    assert street_found.residents == "residents" and "residents" in street_found.homes


def test_homes_name_the_accepted_values_and_how_to_get_a_grid(invoke, street):
    city, services, _ = street
    with pytest.raises(layers.MissingError, match=r"no grid layer .* layers.unit_grid\("):
        cim.access.accessibility(city, ["clinic"], homes="grid", services=services)
    shown = " ".join(invoke("access", "--help").output.replace("│", " ").split())
    assert (
        "Homes: residential (buildings with use=residential), buildings (every building) or grid"
        in shown
    )


def test_access_and_the_vital_signs_count_the_same_schools(street):
    """Both take only schools (GB 50180 中小学) for the 15-minute circle, not kindergartens.
    Home G, round the east end, walks 1,100 m to the school and 600 m to the kindergarten."""
    roads = street[0].layer("roads")
    at = _at((200, 0), (900, 0), (1400, 0), (2000, 100), (1000, 0), (1500, 0))
    buildings = gpd.GeoDataFrame(
        {
            "id": ["A", "B", "C", "G", "school", "kindergarten"],
            "height_m": 9.0,
            "use": ["residential"] * 4 + ["public"] * 2,
            "building": ["apartments"] * 4 + ["school", "kindergarten"],
        },
        geometry=at.buffer(0.00005).to_numpy(),
        crs=4326,
    )
    hospital = gpd.GeoDataFrame(
        {"id": ["h"], "kind": ["hospital"], "name": ["医院"], "units": [1]},
        geometry=_at((0, 0)).to_numpy(),
        crs=4326,
    )
    city = cim.CityModel(
        {"roads": roads, "buildings": buildings, "facilities": hospital},
        name="tiny",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vitals = city.vitals("city", indicators=["clinic_15min_share", "school_15min_share"])
        found = cim.access.accessibility(city, ["clinic", "school"], k=1)
    share = vitals.set_index("indicator_id")["value"]
    assert share["clinic_15min_share"] == found.homes["15min_clinic"].mean() == 0.5
    assert found.homes["15min_school"].tolist() == [True, True, True, False]
    assert share["school_15min_share"] == found.homes["15min_school"].mean() == 0.75
