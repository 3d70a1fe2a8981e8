"""2D/3D views of the city model with pydeck, and self-contained offline HTML export.

- :mod:`cim.views.maps`: ready views (city, dispatch, choropleth, waterlogging, coverage,
  service areas), each a :class:`CityDeck` that shows inline in Jupyter with no network;
- :mod:`cim.views.layers`: the layer builders they are made of, to compose your own;
- :mod:`cim.views.style`: colours, classification (mapclassify) and escaped tooltips;
- :mod:`cim.views.html`: :func:`export_html`, one offline file, compact at 100k buildings;
- :mod:`cim.views.tiles`: :func:`tileset_view`, a local 3D Tiles tileset drawn offline;
- :mod:`cim.views.static`: PNG maps (matplotlib) for printed reports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cim.lazy import lazy_attributes

if TYPE_CHECKING:
    from cim.views.access import access_view
    from cim.views.html import export_html, render_html
    from cim.views.maps import (
        PRESETS,
        CityDeck,
        choropleth_view,
        city_view,
        compose,
        coverage_view,
        dispatch_view,
        service_area_view,
        view_state,
        waterlogging_view,
    )
    from cim.views.style import classify
    from cim.views.tiles import tileset_view

__all__ = [
    "PRESETS",
    "CityDeck",
    "access_view",
    "choropleth_view",
    "city_view",
    "classify",
    "compose",
    "coverage_view",
    "dispatch_view",
    "export_html",
    "render_html",
    "service_area_view",
    "tileset_view",
    "view_state",
    "waterlogging_view",
]

__getattr__, __dir__ = lazy_attributes(
    __name__,
    {
        "PRESETS": "cim.views.maps",
        "CityDeck": "cim.views.maps",
        "access_view": "cim.views.access",
        "choropleth_view": "cim.views.maps",
        "city_view": "cim.views.maps",
        "classify": "cim.views.style",
        "compose": "cim.views.maps",
        "coverage_view": "cim.views.maps",
        "dispatch_view": "cim.views.maps",
        "export_html": "cim.views.html",
        "render_html": "cim.views.html",
        "service_area_view": "cim.views.maps",
        "tileset_view": "cim.views.tiles",
        "view_state": "cim.views.maps",
        "waterlogging_view": "cim.views.maps",
    },
)
