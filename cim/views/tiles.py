"""A 3D Tiles tileset in the offline page: deck.gl's ``Tile3DLayer`` on a local tileset.

A page opened from disk cannot fetch its neighbours (``file://`` requests are refused by the
browser, and the page's Content-Security-Policy allows ``data:`` and ``blob:`` only), so the
tileset travels inside the page: every tile's content becomes a ``data:`` URI (its
``#tile.b3dm`` fragment tells loaders.gl the content type, which it reads from the name),
and the tileset JSON becomes one too, loaded with ``isTileset`` since its URI has no
``.json`` name.
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import pydeck as pdk

from cim.interop.exact_json import dumps
from cim.views.maps import CityDeck, compose
from layers.errors import InputError

__all__ = ["tileset_view"]


def _data_uri(data: bytes, mime: str, name: str = "") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}{name}"


def _inlined(tile: dict, base: Path) -> dict:
    tile = dict(tile)
    content = tile.get("content")
    if content:
        path = base / content["uri"]
        if not path.is_file():
            raise InputError(f"the tileset names {content['uri']}, which is not in {base}")
        suffix = Path(content["uri"]).suffix.lower()
        tile["content"] = {
            **content,
            "uri": _data_uri(path.read_bytes(), "application/octet-stream", f"#tile{suffix}"),
        }
    if "children" in tile:
        tile["children"] = [_inlined(child, base) for child in tile["children"]]
    return tile


def tileset_view(tileset, *, title: str = "3D Tiles", preset: str = "3d") -> CityDeck:
    """A deck drawing a local 3D Tiles tileset (e.g. from ``cim export 3dtiles``) offline.

    The tileset and its tiles are embedded in the deck (a few MB for the sample city), so
    :func:`cim.views.export_html` writes one page that needs no server and no network.

    Parameters
    ----------
    tileset : str or Path
        A ``tileset.json`` whose root has a ``region`` bounding volume, tiles beside it.
    title : str
        The legend's title.
    preset : str
        Camera angle (see :data:`cim.views.PRESETS`).

    Examples
    --------
    >>> import tempfile, shapely, geopandas as gpd
    >>> from cim.model import CityModel
    >>> from cim.interop import to_3dtiles
    >>> house = gpd.GeoDataFrame({"id": ["h1"], "height_m": [12.0], "use": ["residential"]},
    ...     geometry=[shapely.box(104.066, 30.657, 104.0662, 30.6572)], crs=4326)
    >>> done = to_3dtiles(CityModel({"buildings": house}), tempfile.mkdtemp() + "/tiles")
    >>> deck = tileset_view(done.path)
    >>> deck.layers[0].type, deck.layers[0].data.startswith("data:application/json;base64,")
    ('Tile3DLayer', True)
    """
    path = Path(tileset)
    if not path.is_file():
        raise FileNotFoundError(f"no tileset at {path}; write one with `cim export 3dtiles`")
    document = json.loads(path.read_text(encoding="utf-8"))
    region = (document.get("root") or {}).get("boundingVolume", {}).get("region")
    if not region:
        raise InputError(f"{path}: the root tile has no region bounding volume to place the view")
    document["root"] = _inlined(document["root"], path.parent)
    layer = pdk.Layer(
        "Tile3DLayer",
        id="tileset",
        data=_data_uri(dumps(document).encode(), "application/json"),
        loadOptions={"3d-tiles": {"isTileset": True}},
    )
    bounds = [math.degrees(v) for v in region[:4]]
    return compose([layer], bounds=bounds, title=title, preset=preset)
