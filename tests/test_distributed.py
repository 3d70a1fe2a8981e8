"""Scale-out on Dask: every distributed job equals the in-process one, row for row.

One real LocalCluster of two worker processes serves the whole file (started once); the
data is the synthetic scale data at a small size, in several partitions.
"""

from __future__ import annotations

import builtins
import os
import shutil
import signal

import geopandas as gpd
import pandas as pd
import pytest

from cim.address import AddressBase, parse_many
from cim.coverage import sensor_coverage
from cim.distributed import (
    DaskMissingError,
    connect,
    dispatch_partitions,
    geocode_partitions,
    parse_partitions,
    partition_paths,
    resolve,
    sensor_counts,
    vital_signs,
)
from cim.distributed.scale_data import write_scale_data
from cim.distributed.simulation import replicate
from cim.model import CityModel
from cim.response import dispatch_incidents
from cim.simulation import compare
from cim.tables import join_fields, write_table
from cim.vitals import compute
from layers import InputError

# Under ``pytest --dist loadgroup`` the tests on the cluster share one pytest-xdist worker, so
# the cluster (and its workers' imports) starts once per run instead of once per worker.
ON_CLUSTER = pytest.mark.xdist_group("dask-cluster")


@pytest.fixture(scope="session")
def client():
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            memory_limit="1GB",
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="session")
def scale(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scale")
    write_scale_data(folder, addresses=1200, incidents=240, rows_per_partition=200, seed=7)
    write_scale_data(folder, sensors=1200, rows_per_partition=400, seed=8)
    return folder


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows by id, every cell a plain value (None where missing): a column that is empty in
    one partition is stored with no type, the same column of the whole table as text."""
    frame = frame.sort_values("id").reset_index(drop=True).astype(object)
    return frame.where(frame.notna(), None)


def _whole(source) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(p) for p in partition_paths(source)], ignore_index=True)


def _as_written(frame: pd.DataFrame, tmp_path) -> pd.DataFrame:
    """``frame`` as the in-process command writes it and a reader gets it back."""
    return pd.read_parquet(write_table(frame, tmp_path / "in-process.parquet"))


def _parsed_here(source, tmp_path) -> pd.DataFrame:
    frame = _whole(source)
    return _as_written(join_fields(frame, parse_many(frame["address"].tolist())), tmp_path)


@ON_CLUSTER
def test_parsing_on_the_cluster_equals_parse_many_row_for_row(client, scale, tmp_path):
    seen = []
    out = tmp_path / "out"
    run = parse_partitions(scale / "addresses", out, client=client, progress=seen.append)
    assert len(seen) == 6 and not run.failed
    got = _sorted(run.read())
    expected = _sorted(_parsed_here(scale / "addresses", tmp_path))
    pd.testing.assert_frame_equal(got, expected)
    assert got["error"].notna().sum() == run.flagged > 0  # the unreadable rows are there too


@ON_CLUSTER
def test_geocoding_on_the_cluster_equals_the_base_in_process(client, city, scale, tmp_path):
    base = AddressBase.from_city(city)
    source = scale / "addresses" / "part-00000.parquet"
    run = geocode_partitions(source, tmp_path / "out", base=base, client=client)
    frame = _whole(source)
    found = base.geocode(frame["address"].tolist())
    expected = gpd.GeoDataFrame(
        join_fields(frame, found.drop(columns="text")), geometry="geometry", crs=4326
    )
    pd.testing.assert_frame_equal(_sorted(run.read()), _sorted(_as_written(expected, tmp_path)))
    assert run.flagged == int(found["match_level"].eq("none").sum()) > 0


@ON_CLUSTER
def test_a_corrupt_partition_is_named_and_the_others_are_written(client, scale, tmp_path):
    parts = tmp_path / "parts"
    parts.mkdir()
    for p in partition_paths(scale / "addresses")[:2]:
        shutil.copy(p, parts / p.name)
    (parts / "part-99999.parquet").write_bytes(b"PAR1 not a table")
    run = parse_partitions(parts, tmp_path / "out", client=client)
    assert [p.source for p in run.failed] == [str(parts / "part-99999.parquet")]
    assert str(parts / "part-99999.parquet") in run.failed[0].error
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "part-00000.parquet",
        "part-00001.parquet",
    ]
    pd.testing.assert_frame_equal(
        _sorted(run.read()), _sorted(_parsed_here(parts / "part-0000*.parquet", tmp_path))
    )


UNITS = ("grid", "communities", "streets", "districts")


def _with_sensors(city, scale, names) -> CityModel:
    """The city's layers ``names`` and, as its sensors, the partitions put together."""
    model = CityModel(settings=city.settings, graph=city.graph)
    sensors = pd.concat(gpd.read_parquet(p) for p in partition_paths(scale / "sensors"))
    for name in names:
        model.add_layer(name, city.layer(name), check_placement=False)
    model.add_layer("sensors", sensors.reset_index(drop=True), check_placement=False)
    return model


@pytest.fixture(scope="session")
def coverage_here(city, scale):
    """sensor_coverage in-process on the sensors of all partitions."""
    return sensor_coverage(_with_sensors(city, scale, UNITS))


def _client_if(on_cluster: bool, request):
    """The cluster's client, started only for a test that runs on it."""
    return request.getfixturevalue("client") if on_cluster else None


@pytest.mark.parametrize(
    "on_cluster",
    [pytest.param(True, id="cluster", marks=ON_CLUSTER), pytest.param(False, id="in-process")],
)
def test_sensor_counts_per_unit_equal_sensor_coverage(
    request, city, scale, coverage_here, on_cluster
):
    ticks = []
    got = sensor_counts(
        city, scale / "sensors", client=_client_if(on_cluster, request), progress=ticks.append
    )
    assert list(got.columns[:6]) == list(coverage_here.columns[:6])
    assert {c for c in got.columns if c.startswith("sensors_")} == {
        "sensors_air",
        "sensors_camera",
        "sensors_manhole",
        "sensors_rain_gauge",
        "sensors_smoke",
        "sensors_water_level",
    }
    pd.testing.assert_frame_equal(got, coverage_here[got.columns])
    assert got.loc[got["level"].eq("grid"), "sensors"].sum() > 1000  # the offline ones left out
    assert len(ticks) == (3 * 5 if on_cluster else 3)  # per partition (and level, on a cluster)


SENSOR_VITALS = [
    "sensor_density",
    "sensor_online_share",
    "camera_per_road_km",
    "manhole_sensor_per_road_km",
    "water_level_sensor_density",
]


@pytest.mark.parametrize(
    "on_cluster",
    [pytest.param(True, id="cluster", marks=ON_CLUSTER), pytest.param(False, id="in-process")],
)
def test_vital_signs_with_partitioned_sensors_equal_compute(request, city, scale, on_cluster):
    expected = compute(
        _with_sensors(city, scale, ("roads", "buildings", *UNITS)),
        "street",
        indicators=SENSOR_VITALS,
    )
    got = vital_signs(
        city,
        "street",
        indicators=SENSOR_VITALS,
        partitioned={"sensors": scale / "sensors"},
        client=_client_if(on_cluster, request),
    )
    pd.testing.assert_frame_equal(got, expected)
    assert {"ok", "warn", "alarm", "no_data"} <= set(got["status"])


def test_vital_signs_refuse_a_partitioned_layer_a_formula_needs_whole(city, scale):
    with pytest.raises(InputError, match=r"computes \w+ on buildings, which needs the whole layer"):
        vital_signs(city, "street", partitioned={"buildings": scale / "sensors"})


@ON_CLUSTER
def test_a_corrupt_sensors_partition_is_named(client, city, scale, tmp_path):
    shutil.copy(scale / "sensors" / "part-00000.parquet", tmp_path)
    (tmp_path / "part-00001.parquet").write_bytes(b"PAR1 cut short")
    for where in (client, None):
        with pytest.raises(InputError, match=r"part-00001.parquet: not a readable GeoParquet"):
            sensor_counts(city, tmp_path, client=where)


@ON_CLUSTER
def test_dispatch_on_the_cluster_equals_dispatch_incidents(client, city, scale, tmp_path):
    source = scale / "incidents"
    run = dispatch_partitions(city, source, tmp_path / "out", k=2, client=client)
    incidents = pd.concat(gpd.read_parquet(p) for p in partition_paths(source))
    expected = dispatch_incidents(city, incidents.reset_index(drop=True), k=2)
    order = ["incident_id", "rank"]
    got = run.read().sort_values(order).reset_index(drop=True)
    expected = _as_written(expected, tmp_path).sort_values(order).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)
    no_route = expected.drop_duplicates("incident_id")["eta_s"].isna()
    assert run.flagged == int(no_route.sum()) > 0  # unknown kinds and far points, with reasons
    assert got["reason"].str.contains("no responder is defined for incident kind 'other'").any()


@ON_CLUSTER
def test_simulation_replications_on_the_cluster_equal_compare(client, city):
    options = {"policies": ("nearest", "moveup"), "hours": 1, "incidents_per_day": 120, "seed": 4}
    expected = compare(city, replications=2, **options)
    got = replicate(city, replications=2, client=client, **options)
    assert got.seeds == expected.seeds == (4, 5)
    # path ids are numbered replication by replication, so only they may differ
    pd.testing.assert_frame_equal(
        got.log.drop(columns="path_id"), expected.log.drop(columns="path_id")
    )
    pd.testing.assert_frame_equal(
        got.moves.drop(columns="path_id"), expected.moves.drop(columns="path_id")
    )
    pd.testing.assert_frame_equal(got.kpis, expected.kpis)
    assert got.paths.index.isin(got.moves["path_id"]).all() and len(got.paths)


def test_the_cli_runs_partitions_in_process(invoke, scale, tmp_path):
    result = invoke(
        "address", "parse", scale / "addresses", tmp_path / "out", "--scheduler", "in-process"
    )
    assert result.exit_code == 0, result.output
    assert "6 partitions, scheduler in-process" in result.output
    assert result.output.count("✓ part-0") == 6
    got = pd.concat(pd.read_parquet(p) for p in sorted((tmp_path / "out").iterdir()))
    pd.testing.assert_frame_equal(
        _sorted(got), _sorted(_parsed_here(scale / "addresses", tmp_path))
    )


def test_the_cli_counts_sensors_per_unit_as_the_library(invoke, scale, coverage_here, tmp_path):
    out = tmp_path / "counts.parquet"
    result = invoke("scale", "sensors", scale / "sensors", out, "--level", "grid")
    assert result.exit_code == 0, result.output
    got = pd.read_parquet(out)
    expected = coverage_here[coverage_here["level"].eq("grid")].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected[got.columns])


def test_the_same_seed_writes_the_same_scale_data(invoke, tmp_path):
    for folder in ("a", "b"):
        args = ("scale", "data", tmp_path / folder, "--addresses", 50, "--incidents", 20)
        assert invoke(*args, "--seed", 3).exit_code == 0
    for kind in ("addresses", "incidents"):
        first, second = (pd.read_parquet(tmp_path / f / kind / "part-00000.parquet") for f in "ab")
        pd.testing.assert_frame_equal(first, second)
    assert not (tmp_path / "a" / "sensors").exists()


def test_the_cli_fails_with_the_partition_that_cannot_be_read(invoke, tmp_path):
    parts = tmp_path / "parts"
    parts.mkdir()
    (parts / "bad.parquet").write_bytes(b"not parquet")
    result = invoke("address", "parse", parts, tmp_path / "out")
    assert result.exit_code == 1
    assert "bad.parquet: not a readable Parquet table" in result.output
    assert "1 of 1 partitions failed" in result.output


def test_a_partitioned_job_writes_only_into_a_folder_of_its_own(scale, tmp_path):
    source = scale / "addresses" / "part-00000.parquet"
    with pytest.raises(
        InputError, match=r"out.parquet: the output of a partitioned job is a folder"
    ):
        parse_partitions(source, tmp_path / "out.parquet")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "other.parquet").write_bytes(b"")
    with pytest.raises(InputError, match=r"holds other.parquet, which is not one of this job's"):
        parse_partitions(source, tmp_path / "out")
    parse_partitions(source, tmp_path / "again")
    assert parse_partitions(source, tmp_path / "again").rows == 200  # a rerun replaces its own


def test_a_file_named_like_a_glob_is_that_one_file(invoke, tmp_path):
    source = tmp_path / "calls[1].parquet"
    pd.DataFrame({"address": ["武侯区玉林北路2号"]}).to_parquet(source)
    result = invoke("address", "parse", source, tmp_path / "out.csv")
    assert result.exit_code == 0, result.output
    assert "partitions" not in result.output and (tmp_path / "out.csv").is_file()


def test_the_scheduler_is_the_option_then_the_environment_then_in_process(monkeypatch):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    assert resolve(None) == "in-process"
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://10.1.2.3:8786")
    assert resolve(None) == "tcp://10.1.2.3:8786"
    assert resolve("local:3") == "local:3"
    with pytest.raises(InputError, match=r"'threads' is not one of: in-process, local"):
        resolve("threads")


def test_asking_for_a_cluster_without_dask_says_how_to_install_it(monkeypatch, invoke, tmp_path):
    real = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name.split(".")[0] in ("distributed", "dask_geopandas"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    with (
        pytest.raises(DaskMissingError, match=r"pip install 'cim-toolkit\[dask\]'"),
        connect("local:2"),
    ):
        pass
    with connect("in-process") as client:  # in-process needs no Dask
        assert client is None
    source = tmp_path / "a.parquet"
    pd.DataFrame({"address": ["武侯区玉林北路2号"]}).to_parquet(source)
    result = invoke("address", "parse", source, tmp_path / "out", "--scheduler", "local:2")
    assert result.exit_code == 1
    assert "pip install 'cim-toolkit[dask]'" in result.output


@ON_CLUSTER
def test_a_worker_killed_mid_job_changes_nothing(client, scale, tmp_path):
    pids = list(client.run(os.getpid).values())

    def kill_one(part):  # as the first partition comes back, while the others are running
        if len(pids) == 2:
            os.kill(pids.pop(), signal.SIGKILL)

    run = parse_partitions(scale / "addresses", tmp_path / "out", client=client, progress=kill_one)
    assert not run.failed
    pd.testing.assert_frame_equal(
        _sorted(run.read()), _sorted(_parsed_here(scale / "addresses", tmp_path))
    )
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == [f"part-0000{i}.parquet" for i in range(6)]
