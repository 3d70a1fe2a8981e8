"""Several rainfall scenarios on one DEM: its depressions, found once, give the same ponds."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from cim.paths import SAMPLE_DEM
from cim.waterlogging import DEM, find_basins, ponding, read_dem


def _plain_fill(dem: DEM, found: gpd.GeoDataFrame, labels: np.ndarray, inflow: np.ndarray):
    """Levels and water depths filled one depression at a time, each on its own mask."""
    levels, water = np.full(len(found), np.nan), np.zeros_like(dem.elevation)
    for k in range(len(found)):
        cells = labels == k + 1
        z = np.sort(dem.elevation[cells]).astype(float)
        volume = min(inflow[k], found["storage_m3"].iat[k])
        cumulative = np.cumsum(z)
        reach = dem.cell_area * (np.arange(1, len(z) + 1) * np.append(z[1:], np.inf) - cumulative)
        wet = int(np.searchsorted(reach, volume)) + 1
        levels[k] = (volume / dem.cell_area + cumulative[wet - 1]) / wet
        water[cells] = np.maximum(0.0, levels[k] - dem.elevation[cells])
    return levels, water


def test_ponds_from_shared_basins_equal_a_fresh_ponding_and_a_plain_fill():
    sample = read_dem(SAMPLE_DEM)
    dem = DEM(sample.elevation[:320, :320], sample.transform, sample.crs)  # its north-west
    shared = find_basins(dem)
    assert len(shared.depressions) > 5
    stored = []
    for rain in (45.0, 140.0):
        fresh, fresh_water = ponding(dem, rain_mm_h=rain, hours=1.0)
        ponds, water = ponding(dem, rain_mm_h=rain, hours=1.0, basins=shared)
        pd.testing.assert_frame_equal(ponds, fresh, check_exact=True)
        assert np.array_equal(water, fresh_water) and water.dtype == np.float32
        levels, plain = _plain_fill(dem, shared.depressions, shared.labels, ponds["inflow_m3"])
        np.testing.assert_array_equal(ponds["level_m"], levels)
        np.testing.assert_array_equal(water, plain)
        stored.append(ponds["water_m3"].sum())
    assert 0 < stored[0] < stored[1]  # two scenarios, two different fills of the same basins
