"""Lazy package attributes (PEP 562): a package's names load with the module that defines them.

``import cim`` then costs milliseconds, and OSMnx, pydeck or rasterio load only when a name
that needs them is first used.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping

__all__ = ["lazy_attributes"]


def lazy_attributes(
    package: str, homes: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package whose names load on first use.

    Parameters
    ----------
    package
        The package's ``__name__``.
    homes
        Each name the package exports, mapped to the module that defines it. Any other
        public name of a submodule (``cim.vitals``) imports that submodule.

    Examples
    --------
    In a package's ``__init__.py``:
    ``__getattr__, __dir__ = lazy_attributes(__name__, {"city_view": "cim.views.maps"})``.

    >>> import sys, types
    >>> demo = sys.modules["demo"] = types.ModuleType("demo")
    >>> demo.__getattr__, demo.__dir__ = lazy_attributes("demo", {"dedent": "textwrap"})
    >>> "dedent" in vars(demo), demo.dedent("  x"), "dedent" in vars(demo)
    (False, 'x', True)
    >>> del sys.modules["demo"]
    """

    def attribute(name: str) -> object:
        if name in homes:
            value = getattr(importlib.import_module(homes[name]), name)
        elif not name.startswith("_") and importlib.util.find_spec(f"{package}.{name}"):
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(sys.modules[package], name, value)
        return value

    def names() -> list[str]:
        return sorted({*vars(sys.modules[package]), *homes})

    return attribute, names
