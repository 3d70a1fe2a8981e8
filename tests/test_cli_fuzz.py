"""Fuzz the command line's readers: whatever the input file holds, no traceback.

Each example writes one or two input files (random bytes, or tables with random column
orders and names, missing and extra columns, odd values, huge fields, NUL bytes, line
breaks inside fields, saved in a random encoding, sometimes cut short) and runs a command
in-process, sometimes with ``--encoding`` (right or wrong). A user's mistake must end in
``error: ...`` and exit 1; anything else raised (a traceback) fails, showing the input.
"""

from __future__ import annotations

import csv
import functools
import io
import tempfile
import traceback
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

ENCODINGS = ("utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16", "latin-1")
odd_coordinates = st.sampled_from(
    ["", "0", "-999", "nan", "inf", "1e400", "east", "30.66", "104.07"]
)
PLAUSIBLE = {
    "id": st.sampled_from(["e1", "e2", "e3", "e4", "e5", "e6", "e7", "火1", ""]),
    "source": st.sampled_from(["patrol", "hotline", "sensor", "fax", ""]),
    "reported_at": st.sampled_from(
        ["2026-07-15 08:00", "2026-07-15T08:00:00+08:00", "2026-02-30 25:00", "soon", ""]
    ),
    "address": st.sampled_from(
        ["成都市锦江区春熙路", "成都市金牛区永陵路10号永陵公园", "四川省成都市", "🐼🐼", ""]
    ),
    "text": st.sampled_from(["路边着火冒烟", "井盖破损", "积水很深", ""]),
    "lon": st.one_of(*[st.floats(103.95, 104.15).map("{:.5f}".format)] * 3, odd_coordinates),
    "lat": st.one_of(*[st.floats(30.58, 30.72).map("{:.5f}".format)] * 3, odd_coordinates),
    "kind": st.sampled_from(["fire", "medical", "traffic", ""]),
    "sensor_id": st.sampled_from(["synthetic/camera/1", "no-such-sensor", ""]),
}
PLAUSIBLE["经度"], PLAUSIBLE["纬度"] = PLAUSIBLE["lon"], PLAUSIBLE["lat"]
ODD = st.sampled_from(
    ["=HYPERLINK(1)", "[/]", "\x1b[2J", 'a "quoted" text', "a,b", "line\nbreak", "cr\ronly"]
) | st.text(max_size=12)
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def tables(draw) -> tuple[bytes, str | None]:
    """A CSV file's bytes and the ``--encoding`` to pass (None: let the reader detect it).

    ``hostility`` 0 gives plausible tables in a random column order; higher levels add odd
    values, NUL bytes, repeated or nameless columns, huge fields, truncated files, raw bytes.
    """
    hostility = draw(st.integers(0, 3))
    if hostility == 3 and draw(st.booleans()):
        return draw(st.binary(max_size=300)), draw(st.none() | st.sampled_from(ENCODINGS))
    names = draw(st.permutations(list(PLAUSIBLE)))
    if draw(st.booleans()):
        names = names[: draw(st.integers(0, len(names)))]
    if hostility:
        names += draw(
            st.lists(st.sampled_from(["", "备注", "x", "[/]"]) | st.text(max_size=6), max_size=2)
        )
    if hostility == 3:
        names += draw(st.lists(st.sampled_from(names or ["id"]), max_size=1))

    def cell(name: str) -> str:
        if hostility and draw(st.integers(0, 12 - 3 * hostility)) == 0:
            return draw(ODD | st.just("nul\x00byte"))
        return draw(PLAUSIBLE.get(name, st.text(max_size=8)))

    rows = [[cell(n) for n in names] for _ in range(draw(st.integers(0, 6)))]
    if hostility and rows:
        rows[-1] = rows[-1][: draw(st.integers(0, len(names) + 1))] + ["spill"] * draw(
            st.integers(0, 1)
        )
    if hostility >= 2 and rows and draw(st.booleans()):
        rows[0][0:0] = ["x" * draw(st.sampled_from([1000, 140_000]))]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"])))
    writer.writerows([names, *rows] if names or rows else [])
    encoding = draw(st.sampled_from(ENCODINGS))
    data = buffer.getvalue().encode(encoding, errors="replace")
    if hostility >= 2 and draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    told = draw(st.sampled_from([None, None, None, None, encoding, "gbk", "no-such-codec"]))
    return data, told


GBK_CALLS = "id,source,reported_at,address,lon,lat\ne1,hotline,2026-07-15 08:00,成都市锦江区春熙路,104.07,30.66\n"
KNOWN = [  # tried first, every run: each once broke a reader, or stands for a kind of input
    (b"[/]\n", None),  # console markup in a column name
    (b"id,source,reported_at,lon,lat\n[/],fax,x,east,30.66\n[/],fax,x,east,30.66\n", None),
    (b"id,source,reported_at,lon,lat\n\x1b[2J,fax,x,east,30.66\n\x1b[2J,fax,x,,\n", None),
    (b"", None),
    (b"id,address,source,reported_at,lon,lat\n", None),
    (GBK_CALLS.encode("gbk"), None),
    (GBK_CALLS.encode("utf-16"), None),
    (GBK_CALLS.encode("gbk"), "utf-8"),
    (GBK_CALLS.encode("utf-16-le"), None),  # no byte-order mark: NUL bytes
    (b"id,id\n1,2\n", None),
    (b'id,address\n1,"' + b"x" * 140_000 + b'"\n', None),
]


def known(param: str, **fixed):
    """Try every ``KNOWN`` table as ``param`` (with ``fixed`` for the other arguments)."""

    def apply(test):
        for table in KNOWN:
            test = example(**{param: table}, **fixed)(test)
        return test

    return apply


@pytest.fixture(scope="session", autouse=True)
def one_address_base(city):
    """``AddressBase.from_city`` of the session's sample city, built once for every example.

    The base depends on the city alone, never on the fuzzed file, and building it costs more
    than reading and geocoding an example's file; any other city is built as usual.
    """
    from cim.address import AddressBase

    built = AddressBase.from_city(city)
    build = AddressBase.from_city.__func__

    def from_city(cls, model):
        return built if model is city else build(cls, model)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(AddressBase, "from_city", classmethod(from_city))
        yield


@pytest.fixture(scope="session", autouse=True)
def one_click_command():
    """The click command of ``cim.cli.app``, built once for every example.

    ``typer.testing.CliRunner.invoke`` builds it anew from the app on each call (40 ms of
    reading every command's signature), where ``cim`` builds it once per process.
    """
    import typer.main
    import typer.testing

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(typer.testing, "_get_command", functools.cache(typer.main.get_command))
        yield


def check(result, inputs: dict[str, bytes]) -> None:
    shown = "\n".join(f"{name}: {data[:400]!r}" for name, data in inputs.items())
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stack = "".join(traceback.format_exception(result.exception))
        raise AssertionError(f"traceback for\n{shown}\n{result.output}\n{stack}")
    assert result.exit_code in (0, 1), f"exit {result.exit_code} for\n{shown}\n{result.output}"
    if result.exit_code == 1:
        assert "error: " in result.output, result.output
    assert "\x1b" not in result.output and "\x00" not in result.output, result.output


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def told(encoding: str | None) -> list[str]:
    return ["--encoding", encoding] if encoding else []


def named(stem: str, *others: str):
    """File names: mostly ``stem.csv``, sometimes another format the command reads."""
    return st.sampled_from([f"{stem}.csv"] * 4 + [f"{stem}.{suffix}" for suffix in others])


@SETTINGS
@known("table", name="addresses.csv", out="out.csv")
@given(table=tables(), name=named("addresses", "parquet"), out=named("out", "parquet"))
def test_address_parse_never_raises(invoke, table, name, out):
    data, encoding = table
    with tempfile.TemporaryDirectory() as folder:
        source = write(Path(folder), name, data)
        result = invoke("address", "parse", source, Path(folder) / out, *told(encoding))
        check(result, {"csv": data})


@SETTINGS
@known("table", name="addresses.csv", out="out.parquet")
@given(table=tables(), name=named("addresses", "parquet"), out=named("out", "parquet"))
def test_address_geocode_never_raises(invoke, table, name, out):
    data, encoding = table
    with tempfile.TemporaryDirectory() as folder:
        source = write(Path(folder), name, data)
        result = invoke("address", "geocode", source, Path(folder) / out, *told(encoding))
        check(result, {"csv": data})


STATIONS = b"id,lon,lat\nr1,104.065,30.655\nr2,104.08,30.67\n"


@settings(SETTINGS, max_examples=25)
@known("incidents", name="incidents.csv", resources=(STATIONS, None))
@given(
    incidents=tables(),
    name=named("incidents", "geojson", "parquet", "shp"),
    resources=st.just((STATIONS, None)) | tables(),
)
def test_dispatch_never_raises(invoke, incidents, name, resources):
    (incidents, encoding), (resources, _) = incidents, resources
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        result = invoke(
            "dispatch",
            "--incidents", write(folder, name, incidents),
            "--resources", write(folder, "resources.csv", resources),
            "--out", folder / "out",
            *told(encoding),
        )  # fmt: skip
        check(result, {"incidents": incidents, "resources": resources})


@SETTINGS
@known("table", name="calls.csv")
@given(table=tables(), name=named("calls", "parquet"))
def test_events_ingest_never_raises(invoke, table, name):
    data, encoding = table
    with tempfile.TemporaryDirectory() as folder:
        source = write(Path(folder), name, data)
        db = Path(folder) / "events.db"
        check(invoke("events", "ingest", source, "--db", db, *told(encoding)), {"csv": data})
