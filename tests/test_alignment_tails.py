"""The alignment check's binomial tails, taken from scipy.special, equal scipy.stats' binom."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom

from layers.alignment import _standing


@pytest.mark.parametrize("n", [1, 7, 50, 1000])
def test_binomial_tails_equal_scipy_stats_binom(n):
    rng = np.random.default_rng(n)
    checked = 0
    for share in (0.0, 0.001, 0.05, 0.3, 0.5, 0.9, 1.0):  # the decoys' pass rate
        decoys = np.full(7, share * n)
        rate = (decoys.sum() + 1.0) / (decoys.size * n + 2.0)
        for k in {*np.linspace(0, n, 12), *rng.uniform(0, n, 8), n * rate}:
            whole = round(k)
            tail = binom.sf(whole - 1, n, rate) if k >= n * rate else binom.cdf(whole, n, rate)
            z, p = _standing(k, n, decoys, spread=1.0)
            assert p == pytest.approx(min(1.0, 2 * tail), rel=1e-8, abs=1e-300), (n, share, k)
            assert z == (k - decoys.mean()) / max(np.sqrt(n * rate * (1 - rate)), 1.0)
            checked += 1
    assert checked > 100
