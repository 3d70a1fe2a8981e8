"""Offline HTML export of 100,000 extruded buildings: ours against pydeck's default ``to_html``.

Both get the same synthetic buildings (``cim.sample.synthetic_buildings``) as extruded
polygons coloured by use. pydeck's default path is a ``GeoJsonLayer`` fed the GeoDataFrame:
every feature with all its properties as JSON inside the page, and deck.gl from a CDN (so the
page is blank offline). Ours (``cim.views.export_html``) inlines deck.gl and sends the rows
as base64 columns: coordinates as int32 of 1e-6 degree (≈ 0.1 m), heights as float32,
colours as bytes, tooltips once per distinct text; unused columns are never sent.

Run: ``.venv/bin/python benchmarks/views.py [--buildings 100000]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pydeck as pdk

from cim.sample import synthetic_buildings
from cim.views import compose, export_html
from cim.views.html import _deckgl_bundle
from cim.views.layers import building_layer
from cim.views.style import BUILDING_COLORS


def clock(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=100_000)
    args = parser.parse_args()
    buildings = synthetic_buildings(args.buildings)
    folder = Path(tempfile.mkdtemp(prefix="cim-views-"))

    def ours() -> Path:
        deck = compose(
            [building_layer(buildings)], bounds=buildings.total_bounds, title="100k", preset="3d"
        )
        return export_html(deck, folder / "ours.html")

    def pydeck_default() -> Path:
        colored = buildings.assign(color=[BUILDING_COLORS[u] for u in buildings["use"]]).drop(
            columns="floors"
        )
        layer = pdk.Layer(
            "GeoJsonLayer",
            colored,
            extruded=True,
            get_elevation="properties.height_m",
            get_fill_color="properties.color",
        )
        deck = pdk.Deck(layers=[layer], map_provider=None, map_style=None)
        path = folder / "pydeck.html"
        deck.to_html(str(path), open_browser=False, notebook_display=False)
        return path

    ours_s, ours_path = clock(ours)
    theirs_s, theirs_path = clock(pydeck_default)
    ours_mb, theirs_mb = ours_path.stat().st_size / 1e6, theirs_path.stat().st_size / 1e6
    print(f"{args.buildings:,} extruded buildings, one HTML file each (in {folder}):")
    print(f"  pydeck Deck.to_html (GeoJsonLayer, CDN) {theirs_mb:7.1f} MB  {theirs_s:6.2f} s")
    print(f"  cim.views.export_html (offline)         {ours_mb:7.1f} MB  {ours_s:6.2f} s")
    print(
        f"  size ratio {theirs_mb / ours_mb:.1f}x smaller, export {theirs_s / ours_s:.1f}x faster; "
        f"ours includes the {len(_deckgl_bundle()) / 1e6:.1f} MB deck.gl bundle, pydeck's "
        "loads it from a CDN"
    )


if __name__ == "__main__":
    main()
