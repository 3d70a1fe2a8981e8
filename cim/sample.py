"""The embedded sample city: central Chengdu from OpenStreetMap plus labelled synthetic parts.

See ``sample_data/README.md`` for what is real, what is synthetic, and the attribution.
"""

from __future__ import annotations

from pathlib import Path

from cim.model import CityModel

__all__ = ["DIVISIONS_CSV", "SAMPLE_DEM", "SAMPLE_DIR", "SAMPLE_ROOT", "sample_city"]


def _sample_root() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "sample_data", here.parent / "sample_data"):
        if (candidate / "chengdu" / "manifest.json").exists():
            return candidate
    return here.parent / "sample_data"


SAMPLE_ROOT = _sample_root()
SAMPLE_DIR = SAMPLE_ROOT / "chengdu"
DIVISIONS_CSV = SAMPLE_ROOT / "divisions" / "divisions.csv"
SAMPLE_DEM = (
    SAMPLE_ROOT / "chengdu_dem_synthetic.tif"
)  # synthetic: no real DEM of Chengdu is available


def sample_city() -> CityModel:
    """Load the embedded Chengdu sample city.

    Real: central Chengdu's roads, buildings, hospitals, police and fire stations and
    addresses from OpenStreetMap (© OpenStreetMap contributors, ODbL), and the 20 district
    boundaries (Amap, converted from GCJ-02 to WGS84). Synthetic (``synthetic=True``):
    six more fire stations, four ambulance bases, a day of incidents, and building heights
    where OSM has none (``height_source='synthetic:estimate'``).

    Examples
    --------
    >>> import cim
    >>> city = cim.sample_city()
    >>> city.layer("facilities").query("kind == 'fire_station'").shape[0]
    9
    """
    return CityModel.load(SAMPLE_DIR)
