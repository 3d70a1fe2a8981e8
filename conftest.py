"""Doctests share one loaded sample city instead of loading it again in every example.

An example calls ``cim.sample_city()`` as a reader would; while a doctest runs, that call
returns one model per test session, so its layers are read and validated once and its road
graph and routers are compiled once. A doctest that changed the shared model's layers fails,
so no example can leak into another. The example of ``sample_city`` itself loads for real.
"""

from __future__ import annotations

import pytest

import cim


def _layers_state(city: cim.CityModel) -> list[tuple]:
    return [(name, id(gdf), len(gdf), list(gdf.columns)) for name, gdf in city.layers.items()]


@pytest.fixture(scope="session")
def _shared_sample_city() -> cim.CityModel:
    return cim.sample_city()


@pytest.fixture(autouse=True)
def _doctests_share_the_sample_city(request, monkeypatch):
    if not isinstance(request.node, pytest.DoctestItem) or request.node.name.endswith(
        ".sample_city"
    ):
        yield
        return
    city = request.getfixturevalue("_shared_sample_city")
    before = _layers_state(city)
    monkeypatch.setattr(cim, "sample_city", lambda: city)
    yield
    assert _layers_state(city) == before, f"{request.node.name} changed the shared sample city"
