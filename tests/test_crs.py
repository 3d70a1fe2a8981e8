import numpy as np
import pytest
from pyproj import Geod

from layers import crs

GEOD = Geod(ellps="WGS84")
# Published test vector of wandergis/coordTransform_py at (128.543, 37.065)
LON, LAT = 128.543, 37.065


def metres(lon1, lat1, lon2, lat2):
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


def test_forward_transforms_match_published_reference_values():
    assert np.allclose(
        crs.wgs84_to_gcj02(LON, LAT), (128.54820547949757, 37.065651049489816), atol=1e-12
    )
    assert np.allclose(
        crs.gcj02_to_bd09(LON, LAT), (128.54944656269413, 37.07113427883019), atol=1e-12
    )
    assert np.allclose(
        crs.bd09_to_gcj02(LON, LAT), (128.5365893261212, 37.058754503281534), atol=1e-12
    )


def test_iterated_inverse_beats_the_one_step_approximation():
    one_step = (128.53779452050244, 37.06434895051018)  # the published non-iterated inverse
    ours = crs.gcj02_to_wgs84(LON, LAT)
    assert metres(*crs.wgs84_to_gcj02(*ours), LON, LAT) < 0.001
    assert metres(*crs.wgs84_to_gcj02(*one_step), LON, LAT) > metres(
        *crs.wgs84_to_gcj02(*ours), LON, LAT
    )
    assert metres(*ours, *one_step) < 5


def test_round_trips_stay_within_half_a_metre_across_china():
    lon, lat = np.meshgrid(np.linspace(74, 134, 40), np.linspace(18, 53, 30))
    lon, lat = lon.ravel(), lat.ravel()
    back = crs.gcj02_to_wgs84(*crs.wgs84_to_gcj02(lon, lat))
    assert metres(lon, lat, *back).max() < 0.5
    back = crs.bd09_to_wgs84(*crs.wgs84_to_bd09(lon, lat))
    assert metres(lon, lat, *back).max() < 0.5


def test_chengdu_offset_is_a_few_hundred_metres_east_and_south_of_wgs84():
    lon, lat = 104.0657, 30.6595  # Tianfu Square, WGS84
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    east = metres(lon, lat, glon, lat) * np.sign(glon - lon)
    north = metres(lon, lat, lon, glat) * np.sign(glat - lat)
    assert 200 < east < 300
    assert -300 < north < -200


def test_points_outside_china_are_unchanged():
    lon, lat = crs.gcj02_to_wgs84([2.35, -74.0], [48.85, 40.7])
    assert np.allclose(lon, [2.35, -74.0]) and np.allclose(lat, [48.85, 40.7])


def test_transforms_keep_the_input_shape():
    lon = np.full((3, 4), 104.06)
    out_lon, out_lat = crs.wgs84_to_gcj02(lon, 30.65)
    assert out_lon.shape == (3, 4) and out_lat.shape == (3, 4)


def test_metric_crs_picks_the_cgcs2000_gauss_kruger_zone(city):
    assert crs.metric_crs(city.layer("roads")).to_epsg() == 4544
    assert crs.metric_crs(75.2).to_epsg() == 4534
    assert crs.metric_crs(134.9).to_epsg() == 4554
    with pytest.raises(ValueError, match="outside China"):
        crs.metric_crs(2.35)
