"""Priority-flood filling equals the morphological reconstruction it replaced, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from skimage.morphology import reconstruction

from cim.priority_flood import fill_depressions
from cim.sample import SAMPLE_DEM
from cim.waterlogging import DEM, _filled, read_dem


def reconstructed(elevation: np.ndarray) -> np.ndarray:
    """The filling cim.waterlogging did before: reconstruction by erosion from the outlets."""
    nodata = np.isnan(elevation)
    z = np.where(nodata, -1e6, elevation)
    seed = np.full_like(z, z.max())
    drains = nodata.copy()
    drains[[0, -1], :] = True
    drains[:, [0, -1]] = True
    seed[drains] = z[drains]
    filled = reconstruction(seed, z, method="erosion")
    return np.where(nodata, np.nan, filled).astype(elevation.dtype)


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


def rough(shape, seed: int, *, holes: float = 0.0, levels: int = 0) -> np.ndarray:
    """Random relief; ``levels`` rounds it to that many heights (wide flats), ``holes`` is NaN."""
    rng = np.random.default_rng(seed)
    z = rng.random(shape) * 10
    if levels:
        z = np.round(z * levels / 10)
    z[rng.random(shape) < holes] = np.nan
    return z


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("shape", "holes", "levels"),
    [
        ((40, 60), 0.0, 0),
        ((41, 37), 0.05, 0),
        ((50, 50), 0.0, 3),
        ((33, 70), 0.1, 4),
        ((1, 9), 0, 0),
    ],
)
@pytest.mark.parametrize("seed", range(4))
def test_random_relief_fills_as_the_reconstruction_did(dtype, shape, holes, levels, seed):
    z = rough(shape, seed, holes=holes, levels=levels).astype(dtype)
    before = z.copy()
    filled = fill_depressions(z)
    assert same(filled, reconstructed(z))
    assert same(z, before)  # the input is left alone


def test_a_smooth_surface_with_many_sinks_fills_as_the_reconstruction_did():
    from scipy import ndimage

    rng = np.random.default_rng(7)
    z = ndimage.gaussian_filter(rng.normal(size=(300, 260)), 4) * 30
    z -= np.linspace(0, 5, 260)[None, :]
    assert same(fill_depressions(z), reconstructed(z))
    assert (fill_depressions(z) > z).sum() > 1000  # it did fill something


def test_nested_depressions_fill_to_the_outer_spill():
    z = np.full((9, 9), 9.0)
    z[1:8, 1:8] = 5.0  # a basin ...
    z[3:6, 3:6] = 2.0  # ... with a pit in it ...
    z[4, 4] = 0.0  # ... and a deeper one in that
    z[0, 6] = 7.0  # the basin spills over here, at 7
    filled = fill_depressions(z)
    assert same(filled, reconstructed(z))
    assert (filled[1:8, 1:8] == 7.0).all() and filled[0, 6] == 7.0


@pytest.mark.parametrize(
    "z",
    [
        np.full((5, 5), np.nan),
        np.array([[3.0]]),
        np.array([[3.0, 1.0], [0.5, 2.0]]),
        np.array([[2.0, 2.0, 2.0], [2.0, 1.0, 2.0], [2.0, 2.0, 2.0]]),  # a single pit
        np.array([[2.0, 2.0, 2.0], [2.0, 1.0, np.nan], [2.0, 2.0, 2.0]]),  # it drains to nodata
        np.array([[np.nan, np.nan, np.nan], [np.nan, 1.0, np.nan], [np.nan] * 3]),
        np.full((4, 6), 1.5),  # all flat
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_small_and_degenerate_grids(z, dtype):
    z = z.astype(dtype)
    assert same(fill_depressions(z), reconstructed(z))


def test_a_single_pit_rises_to_its_rim_and_a_pit_by_nodata_does_not():
    pit = np.array([[2.0, 2.0, 2.0], [2.0, 1.0, 2.0], [2.0, 2.0, 2.0]])
    assert fill_depressions(pit)[1, 1] == 2.0
    pit[1, 2] = np.nan
    assert fill_depressions(pit)[1, 1] == 1.0


def test_a_view_in_any_memory_order_is_filled():
    z = rough((60, 80), 3, holes=0.02)
    view = z.T[::2, 1:]
    assert same(fill_depressions(view), reconstructed(np.ascontiguousarray(view)))


def test_the_sample_dem_fills_as_the_reconstruction_did_in_float32_and_float64():
    with rasterio.open(SAMPLE_DEM) as source:
        raw = source.read(1, masked=True).filled(np.nan)
    assert raw.dtype == np.float32
    assert same(fill_depressions(raw), reconstructed(raw))
    wide = raw.astype(np.float64)
    assert same(fill_depressions(wide), reconstructed(wide))
    dem = read_dem(SAMPLE_DEM)  # read as it is stored, in float32
    assert same(_filled(dem), reconstructed(raw))


def test_waterlogging_keeps_a_float32_dem_in_float32():
    z = rough((20, 30), 1, holes=0.05).astype(np.float32)
    filled = _filled(DEM(z, rasterio.Affine.identity(), None))
    assert filled.dtype == np.float32 and same(filled, reconstructed(z))


def test_a_big_endian_grid_is_filled_in_native_order():
    z = rough((30, 30), 5, holes=0.05)
    assert np.array_equal(fill_depressions(z.astype(">f8")), reconstructed(z), equal_nan=True)


@pytest.mark.parametrize(
    "bad", [np.zeros((3, 3), dtype=int), np.zeros((3, 3), np.float16), np.zeros(5)]
)
def test_what_is_not_a_float_grid_is_refused(bad):
    with pytest.raises(TypeError, match="2-D float array"):
        fill_depressions(bad)
