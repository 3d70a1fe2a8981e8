"""JSON text with every float written in full, whatever another library did to ``json``.

cjio, on import, makes every ``json.dumps`` in the process print floats with 6 decimals
(it sets ``json.encoder.float``). A glTF's accessor bounds must equal its data and a
tileset's regions are radians, so the interop writers encode under :func:`exact_floats`.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["dumps", "exact_floats"]


@contextmanager
def exact_floats() -> Iterator[None]:
    """Encode floats with ``float.__repr__`` (the shortest exact form) inside the block.

    Examples
    --------
    >>> with exact_floats():
    ...     json.dumps(0.1 + 0.2)
    '0.30000000000000004'
    """
    module = vars(json.encoder)
    found = module.get("float")  # absent unless a library put it there
    module["float"] = float
    try:
        yield
    finally:
        if found is None:
            del module["float"]
        else:
            module["float"] = found


def dumps(value, **options) -> str:
    """``json.dumps`` with exact floats (see :func:`exact_floats`)."""
    with exact_floats():
        return json.dumps(value, **options)
