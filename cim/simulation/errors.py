"""The error a simulation's input raises: a policy, hyetograph, fleet or parameter it cannot use."""

from __future__ import annotations

import layers

__all__ = ["SimulationError"]


class SimulationError(layers.InputError):
    """A simulation input that cannot be used; the message names it and the fix.

    >>> issubclass(SimulationError, layers.InputError)
    True
    """
