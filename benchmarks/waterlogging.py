"""Waterlogging and coverage at scale, each against its named peers, in one run.

1. Depression filling on a 4000 x 4000 DEM, in float64 and in float32 (``read_dem`` keeps a
   float32 GeoTIFF in float32): ours (priority-flood compiled with numba,
   ``cim.priority_flood``) against richdem's ``FillDepressions`` (the richdem2 wheel), the
   scikit-image morphological reconstruction we used before, and pysheds'
   ``fill_depressions``. Every call runs in a fresh interpreter, ``--runs`` times (ours and
   richdem alternating), which reports its time and how far the call raised the resident
   memory at its peak (Linux ``VmHWM``, reset before the call, less ``VmRSS`` then), in bytes
   per cell and against the input array; the filled surfaces must be identical. Ours against
   richdem is given run by run. Our numba compile time, cold and from its cache, is measured
   in fresh interpreters too.
2. Sensor coverage of 1,000,000 buildings: ours (one union of range circles and a vectorised
   containment test, as ``cim.coverage`` does) against a plain geopandas loop over sensors
   (``distance <= range`` per sensor); the watched sets must agree.

pysheds and richdem2 are installed for the benchmark only (``make bench``). Run:
``.venv/bin/python benchmarks/waterlogging.py [--size 4000] [--runs 2] [--buildings 1000000]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from scipy import ndimage

FILLERS = {  # method: (label, dtypes it runs on)
    "ours": ("ours (priority-flood, numba)", ("float64", "float32")),
    "richdem": ("richdem FillDepressions", ("float64", "float32")),
    "skimage": ("scikit-image reconstruction (before)", ("float64",)),
    "pysheds": ("pysheds fill_depressions", ("float64",)),
}


def clock(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def relief(size: int) -> np.ndarray:
    """A rough synthetic surface with many sinks: a tilted plane plus smoothed noise."""
    rng = np.random.default_rng(0)
    z = 500 - np.linspace(0, 20, size)[None, :] - np.linspace(0, 10, size)[:, None]
    return z + ndimage.gaussian_filter(rng.normal(size=(size, size)), 8) * 30


def filler(method: str, dtype: np.dtype):
    """The method's fill function of an array, warmed up on a small one (numba compiles)."""
    if method == "ours":
        from cim.priority_flood import fill_depressions as fill
    elif method == "richdem":
        import richdem

        def fill(z):
            return np.asarray(
                richdem.FillDepressions(richdem.rdarray(z, no_data=-9999.0), in_place=False)
            )
    elif method == "skimage":
        from skimage.morphology import reconstruction

        def fill(z):  # the old cim.waterlogging._filled, for a DEM without nodata
            seed = np.full_like(z, z.max())
            seed[[0, -1], :] = z[[0, -1], :]
            seed[:, [0, -1]] = z[:, [0, -1]]
            return reconstruction(seed, z, method="erosion")
    else:
        from pysheds.grid import Grid
        from pysheds.view import Raster, ViewFinder

        def fill(z):
            raster = Raster(z, ViewFinder(shape=z.shape, nodata=z.dtype.type(-9999)))
            return np.asarray(Grid(viewfinder=raster.viewfinder).fill_depressions(raster))

    fill(relief(64).astype(dtype))
    return fill


def child(method: str, source: str, target: str) -> None:
    """Fill the DEM in ``source`` by ``method``; print seconds and the memory the call added."""
    z = np.load(source)
    fill = filler(method, z.dtype)
    resident = memory("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # the peak starts again from here
    seconds, filled = clock(lambda: fill(z))
    added = memory("VmHWM") - resident
    np.save(target, np.asarray(filled, dtype=z.dtype))
    print(json.dumps({"seconds": seconds, "added": added, "dtype": str(filled.dtype)}))


def memory(field: str) -> int:
    """Bytes of this process's ``VmRSS`` (resident now) or ``VmHWM`` (its peak), from Linux."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise OSError(f"no {field} in /proc/self/status")


def compile_seconds(cache: str) -> float:
    """Seconds a fresh interpreter takes to import our filler and fill a 3 x 3 DEM."""
    code = (
        "import time, numpy as np; t = time.perf_counter(); "
        "from cim.priority_flood import fill_depressions; "
        "fill_depressions(np.zeros((3, 3))); print(time.perf_counter() - t)"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    return float(done.stdout)


def fill(size: int, runs: int) -> None:
    cells = size * size
    print(
        f"depression filling, {size} x {size} DEM ({cells / 1e6:.0f} M cells), "
        f"each call in a fresh process, {runs} runs:"
    )
    with tempfile.TemporaryDirectory() as folder:
        done: dict[tuple[str, str], list[dict]] = {}
        filled: dict[tuple[str, str], np.ndarray] = {}
        for dtype in ("float64", "float32"):
            source = Path(folder) / f"dem_{dtype}.npy"
            np.save(source, relief(size).astype(dtype))
            for _ in range(runs):
                for method, (_, dtypes) in FILLERS.items():
                    if dtype in dtypes:
                        run = fill_once(method, source, Path(folder) / f"{method}_{dtype}.npy")
                        if run is not None:
                            done.setdefault((method, dtype), []).append(run)
                            filled[method, dtype] = run.pop("filled")
        for dtype in ("float64", "float32"):
            given = cells * np.dtype(dtype).itemsize
            print(f"  {dtype} (the input: {given / 2**20:.0f} MB):")
            ours = filled.get(("ours", dtype))
            for method, (label, _) in FILLERS.items():
                if (method, dtype) not in done:
                    continue
                times = [run["seconds"] for run in done[method, dtype]]
                added = max(run["added"] for run in done[method, dtype])
                out = done[method, dtype][-1]["dtype"]
                same = ""
                if ours is not None and method != "ours":
                    agree = np.array_equal(filled[method, dtype], ours, equal_nan=True)
                    same = "identical to ours" if agree else "DIFFERS from ours"
                print(
                    f"    {label:38s} {_span(times):>9s} s  peak +{added / 2**20:5.0f} MB "
                    f"({added / cells:4.1f} B/cell, {added / given:3.1f}x the input, out {out})  {same}"
                )
            pairs = list(
                zip(done.get(("ours", dtype), []), done.get(("richdem", dtype), []), strict=False)
            )
            if pairs:
                ratios = [mine["seconds"] / floor["seconds"] for mine, floor in pairs]
                print(f"    ours / richdem, run by run: {_span(ratios)}x the time")
        with tempfile.TemporaryDirectory() as cache:
            cold, warm = compile_seconds(cache), compile_seconds(cache)
        print(
            f"  our first fill in a fresh process: {cold:.2f} s compiling, {warm:.2f} s from numba's cache"
        )


def fill_once(method: str, source: Path, target: Path) -> dict | None:
    """One fill of the DEM in ``source`` by ``method`` in a fresh interpreter, or None if it failed."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", method, str(source), str(target)],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        print(f"  {method} on {source.stem} did not run: {done.stderr.strip().splitlines()[-1]}")
        return None
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "filled": np.load(target)}


def _span(values: list[float]) -> str:
    """``low–high`` (or one value) for the runs of a figure."""
    low, high = f"{min(values):.2f}", f"{max(values):.2f}"
    return low if low == high else f"{low}–{high}"


def coverage(buildings: int, sensors: int) -> None:
    rng = np.random.default_rng(1)
    side = np.sqrt(buildings) * 30.0  # ~30 m between buildings, like a dense district
    points = shapely.points(rng.uniform(0, side, buildings), rng.uniform(0, side, buildings))
    where = gpd.GeoSeries(
        shapely.points(rng.uniform(0, side, sensors), rng.uniform(0, side, sensors)), crs=4544
    )
    ranges = rng.choice([20.0, 30.0, 50.0, 100.0], sensors)
    homes = gpd.GeoSeries(points, crs=4544)

    def ours():
        covered = shapely.union_all(shapely.buffer(where.values, ranges, quad_segs=32))
        shapely.prepare(covered)
        return shapely.contains(covered, points)

    def loop():
        watched = np.zeros(buildings, dtype=bool)
        for sensor, reach in zip(where, ranges, strict=True):
            watched |= (homes.distance(sensor) <= reach).to_numpy()
        return watched

    ours_s, mine = clock(ours)
    loop_s, theirs = clock(loop)
    disagree = int((mine != theirs).sum())
    print(f"\nsensor coverage, {buildings:,} buildings and {sensors:,} sensors:")
    print(f"  ours (union of range circles, vectorised): {ours_s:7.2f} s")
    print(
        f"  geopandas loop over sensors:               {loop_s:7.2f} s   ratio loop / ours {loop_s / ours_s:6.1f}x"
    )
    print(
        f"  buildings watched: {int(mine.sum()):,}; buildings the two disagree on: {disagree} "
        "(on the 128-gon edge of a circle)"
    )


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4000)
    parser.add_argument("--runs", type=int, default=2, help="fresh processes per filler and dtype")
    parser.add_argument("--buildings", type=int, default=1_000_000)
    parser.add_argument("--sensors", type=int, default=1_000)
    args = parser.parse_args()
    fill(args.size, args.runs)
    coverage(args.buildings, args.sensors)


if __name__ == "__main__":
    main()
