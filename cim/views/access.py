"""Living-circle views: homes coloured by walking distance to a service, and walking isochrones.

Both draw on :mod:`cim.access` results and open offline like every view
(:func:`cim.views.export_html`).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

import layers
from cim.access import Access, walking_router
from cim.access.services import SERVICE_KINDS
from cim.model import CityModel
from cim.views.layers import area_layer, bounds_of, point_layer
from cim.views.maps import CityDeck, _base, _note, compose
from cim.views.style import MISSING_COLOR, Classes, fixed_classes, ramp, tip

__all__ = ["ACCESS_CLASSES", "ISOCHRONE_MINUTES", "access_view"]

ACCESS_CLASSES = (  # upper bound in metres (GB 50180-2018 circles), label, colour
    (300.0, "≤ 300 m（5 分钟生活圈）", [26, 152, 80]),
    (500.0, "300–500 m（10 分钟生活圈）", [166, 217, 106]),
    (1000.0, "500–1,000 m（15 分钟生活圈）", [253, 174, 97]),
    (np.inf, "> 1,000 m 或不可达", [215, 48, 39]),
)
ISOCHRONE_MINUTES = (5, 10, 15)
_FAR_M = 1e12  # what "no service reachable" is classed as: beyond every circle


def access_view(
    city: CityModel,
    access: Access,
    *,
    kind: str | None = None,
    circle: str | None = None,
    isochrones_from=None,
    minutes=ISOCHRONE_MINUTES,
    preset: str = "2d",
) -> CityDeck:
    """Homes coloured by walking distance to the nearest ``kind``, with walking isochrones.

    Parameters
    ----------
    city : CityModel
    access : cim.access.Access
        From :func:`cim.access.accessibility`.
    kind : str, optional
        The service kind to colour by; the first of ``access.kinds`` by default.
    circle : {"15min", "10min", "5min"}, optional
        Colour the homes by whether they meet this circle instead (every requirement checked,
        on foot): the gaps map. The services drawn are then those the circle checks.
    isochrones_from : shapely Point or (lon, lat), optional
        Draw the area reached on foot from here within each of ``minutes`` (at the walking
        speed of ``access``), along the walking graph.
    minutes : sequence of float
        Isochrone times, 5 / 10 / 15 minutes by default.

    Examples
    --------
    >>> import cim
    >>> from cim.access import accessibility
    >>> city = cim.sample_city()
    >>> found = accessibility(city, ["clinic"])
    >>> deck = access_view(city, found, isochrones_from=(104.07, 30.67))
    >>> [layer.id for layer in deck.layers]
    ['districts', 'roads', 'isochrones', 'homes', 'services', 'origin']
    """
    kind = access.kinds[0] if kind is None else kind
    if kind not in access.kinds:
        raise layers.InputError(
            f"kind {kind!r} was not measured; choose one of {', '.join(access.kinds)}"
        )
    homes = access.homes
    metres = homes[f"{kind}_1_m"].to_numpy(dtype=float)
    classes = fixed_classes(np.where(np.isinf(metres), _FAR_M, metres), ACCESS_CLASSES)
    label = SERVICE_KINDS[kind].label
    shown = [kind]
    if circle is not None:
        if circle not in access.circles:
            raise layers.InputError(
                f"circle {circle!r} was not checked; choose one of {', '.join(access.circles)}"
            )
        met = homes[f"meets_{circle}"]
        classes = Classes(
            np.where(met.isna(), -1, np.where(met.fillna(False).to_numpy(dtype=bool), 0, 1)),
            [[26, 152, 80], [215, 48, 39]],
            [f"满足{circle}生活圈", f"{circle}生活圈缺口"],
        )
        shown = access.requirements.query("circle == @circle")["kind"].tolist()
        label = "、".join(SERVICE_KINDS[k].label for k in shown)
    tips = [
        tip(
            f"住宅 {home_id}",
            (
                f"最近{label}",
                "不可达" if np.isinf(m) else ("未接入步行网" if np.isnan(m) else f"{m:,.0f} m"),
            ),
            ("步行", "" if not np.isfinite(m) else f"{m / access.speed_mps / 60:.0f} 分钟"),
            *((("原因", reason),) if isinstance(reason, str) else ()),
        )
        for home_id, m, reason in zip(homes["id"], metres, homes["reason"], strict=True)
    ]
    polygons = homes.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    colors = classes.color_of(alpha=230)
    drawn = (
        area_layer(homes, colors=colors, tips=tips, id="homes", line_color=(60, 60, 60, 200))
        if polygons
        else point_layer(homes, colors=colors, tips=tips, id="homes", radius_m=15)
    )
    services = access.services[access.services["kind"].isin(shown)]
    deck_layers = _base(city)
    counts = np.bincount(classes.index[classes.index >= 0], minlength=len(classes.labels))
    legend = [
        (f"{text}：{n} 户", color)
        for text, color, n in zip(classes.labels, classes.colors, counts, strict=True)
    ]
    if (classes.index < 0).any():
        legend.append((f"未接入步行网：{int((classes.index < 0).sum())} 户", MISSING_COLOR))
    bounds = [homes, services]
    if isochrones_from is not None:
        origin = gpd.GeoDataFrame(
            {"id": ["origin"]},
            geometry=[
                isochrones_from
                if isinstance(isochrones_from, shapely.Point)
                else shapely.Point(isochrones_from)
            ],
            crs=4326,
        )
        router = walking_router(city, speed_mps=access.speed_mps)
        cutoffs = sorted(float(m) * 60 for m in minutes)
        areas = router.service_areas(origin, cutoffs=cutoffs, objective="time")
        areas = areas.sort_values("cutoff", ascending=False)
        palette = {c: [*p, 70] for c, p in zip(cutoffs, ramp("Blues_r", len(cutoffs)), strict=True)}
        deck_layers.append(
            area_layer(
                areas,
                colors=[palette[c] for c in areas["cutoff"]],
                tips=[
                    tip(f"步行 {c / 60:g} 分钟可达", ("面积", f"{a:.2f} km²"))
                    for c, a in zip(areas["cutoff"], areas["area_km2"], strict=True)
                ],
                id="isochrones",
                line_color=(30, 80, 160, 220),
                line_width_px=1.5,
            )
        )
        legend += [
            (f"步行 {c / 60:g} 分钟（{access.speed_mps:g} m/s）", palette[c][:3]) for c in cutoffs
        ]
        bounds.append(areas)
    deck_layers.append(drawn)
    deck_layers.append(
        point_layer(
            services,
            colors=[40, 40, 160],
            radius_m=30,
            min_radius_px=4,
            tips=[
                tip(
                    n if isinstance(n, str) else SERVICE_KINDS[k].label,
                    ("类型", SERVICE_KINDS[k].label),
                    ("编号", i),
                )
                for n, k, i in zip(services["name"], services["kind"], services["id"], strict=True)
            ],
            id="services",
        )
    )
    legend.append((label, [40, 40, 160]))
    if isochrones_from is not None:
        deck_layers.append(
            point_layer(origin, colors=[0, 0, 0], radius_m=20, min_radius_px=6, id="origin")
        )
    lead = (
        f"住宅按到最近{label}的步行路网距离着色"
        if circle is None
        else f"住宅按是否满足 {circle} 生活圈着色（{label}，步行路网距离）"
    )
    note = _note(city, lead, homes=homes)
    return compose(
        deck_layers,
        bounds=bounds_of(*bounds, pad=0.03),
        title=(
            f"{city.name} 步行可达：最近{label}（GB 50180-2018 生活圈）"
            if circle is None
            else f"{city.name} {circle} 生活圈缺口（GB 50180-2018）"
        ),
        legend=legend,
        note=note,
        preset=preset,
    )
