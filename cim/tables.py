"""Batch tables for the command line: CSV or Parquet in, CSV or (Geo)Parquet out, atomically."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from cim.atomic import atomic_path

__all__ = ["check_suffix", "read_table", "write_table"]

SUFFIXES = (".csv", ".parquet")


def check_suffix(path) -> None:
    """Refuse a path that is neither .csv nor .parquet, before any work is done."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ValueError(f"{path}: use a .csv or .parquet file")


def read_table(path) -> pd.DataFrame:
    """Read a CSV (UTF-8, text kept as text) or Parquet table."""
    path = Path(path)
    check_suffix(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig").replace(
        "", None
    )


def write_table(frame: pd.DataFrame, path) -> Path:
    """Write a table atomically; geometry becomes ``lon``/``lat`` in CSV, GeoParquet in Parquet."""
    path = Path(path)
    check_suffix(path)
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".parquet":
            frame.to_parquet(tmp)
        else:
            if isinstance(frame, gpd.GeoDataFrame):
                points = frame.geometry
                located = points.notna() & ~points.is_empty
                frame = pd.DataFrame(frame.drop(columns=frame.geometry.name)).assign(
                    lon=points.x.where(located), lat=points.y.where(located)
                )
            frame.to_csv(tmp, index=False, encoding="utf-8")
    return path
