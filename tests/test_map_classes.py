"""Map classes: mapclassify's numba kernel is compiled for the scheme that needs it, only."""

from __future__ import annotations

import sys

import pytest

from cim.views import style


@pytest.fixture
def fresh_mapclassify(monkeypatch):
    """mapclassify as a process that has not imported it yet sees it (restored afterwards)."""
    for name in [n for n in sys.modules if n.split(".")[0] == "mapclassify"]:
        monkeypatch.delitem(sys.modules, name)
    style._mapclassify.cache_clear()
    yield
    style._mapclassify.cache_clear()


def test_the_fisher_jenks_kernel_is_compiled_on_its_first_use_not_on_import(fresh_mapclassify):
    """Importing mapclassify compiled its typed Fisher-Jenks kernel: seconds in every process
    that classified anything (a CLI run, a notebook kernel, a test worker)."""
    quantiles = style.classify([1.0, 2, 3, 4, 5, 8, 13, 21], k=3)
    assert quantiles.labels == ["1 – 3.3", "3.3 – 7", "7 – 21"]
    kernel = sys.modules["mapclassify.classifiers"]._fisher_jenks_means
    assert kernel.signatures == []
    jenks = style.classify([1.0, 2, 3, 4, 5, 8, 13, 21, 34, 55], scheme="fisher_jenks", k=3)
    assert jenks.labels == ["1 – 13", "13 – 34", "34 – 55"]
    assert jenks.index.tolist() == [0] * 7 + [1, 1, 2] and len(kernel.signatures) == 1
