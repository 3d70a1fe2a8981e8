"""Where the data shipped with the toolkit lives: the sample city, the divisions table, the DEM
and a storm.

A module of its own, importing nothing heavy, so that the address parser finds its divisions
table without loading the sample city's model (and OSMnx and the road graph with it).

>>> from cim.paths import DIVISIONS_CSV
>>> DIVISIONS_CSV.name
'divisions.csv'
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DIVISIONS_CSV", "SAMPLE_DEM", "SAMPLE_DIR", "SAMPLE_ROOT", "SAMPLE_STORM"]


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
SAMPLE_STORM = (
    SAMPLE_ROOT / "storm_hyetograph_synthetic.csv"
)  # synthetic: a Chicago design storm, see sample_data/build_storm.py
