"""The compiled road graph, kept in a city folder so that a command does not build it again.

Building a routable graph from a large roads layer takes seconds to tens of seconds
(:func:`routing.graph_from_roads`, then compiling it in :class:`routing.Router`). A city
folder written by :meth:`cim.CityModel.save` keeps the compiled roads in
``cache/road_graph.npz`` (:meth:`routing.Router.to_arrays`) the first time a router is made
on it, and later loads read that instead (:meth:`routing.Router.from_arrays`). One file
serves every vehicle profile and hour: only the travel times differ, and they are set from
the stored road speeds and classes (:meth:`routing.Router.with_profile`).

The file records what it was made from: a digest of the roads layer's content (geometry and
every column, with their types; :func:`roads_digest`) and one of the code that builds graphs
(the ``layers`` and ``routing`` sources and the versions of the libraries they use). A file
made from other roads or by other code is built again and replaced; so is a damaged one, with
a :class:`GraphCacheWarning`. The file is written beside its place and renamed into it, under
the city folder's lock (:func:`cim.atomic.reading_dir`), so a reader never sees half a file
and a save that swaps the folder never meets one; two processes that build at once write the
same content and the last rename wins. A folder that cannot be written to is used without a
cache. Nothing in the file is run as code (``numpy.load(..., allow_pickle=False)``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import warnings
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyproj
import shapely

import layers
import routing
from cim.atomic import atomic_path, reading_dir

__all__ = ["CACHE_FILE", "GraphCache", "GraphCacheWarning", "roads_digest"]

CACHE_FILE = Path("cache") / "road_graph.npz"
FORMAT = "cim-road-graph/1"
Notes = list[tuple[type[Warning], str]]


class GraphCacheWarning(layers.CimWarning):
    """A city folder's cached road graph could not be read; it was built again."""


def roads_digest(roads: gpd.GeoDataFrame) -> str:
    """SHA-256 of a roads layer's content: every column with its type, and the geometry as WKB.

    Examples
    --------
    >>> import cim
    >>> roads = cim.sample_city().layer("roads")
    >>> changed = roads.copy()
    >>> changed.loc[changed.index[0], "oneway"] = not roads["oneway"].iat[0]
    >>> roads_digest(roads) == roads_digest(roads.copy()), roads_digest(roads) == roads_digest(changed)
    (True, False)
    """
    table = pa.table(
        {
            **{
                str(name): _column(roads[name])
                for name in roads.columns
                if name != roads.geometry.name
            },
            "geometry (WKB)": pa.array(shapely.to_wkb(roads.geometry.values), type=pa.binary()),
        }
    )
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return hashlib.sha256(sink.getvalue()).hexdigest()


def _column(values: pd.Series) -> pa.Array:
    try:
        return pa.array(values, from_pandas=False)
    except (pa.ArrowException, TypeError, ValueError):  # mixed types: each value by type and repr
        return pa.array([f"{type(v).__qualname__}:{v!r}" for v in values])


@functools.cache
def _code_digest() -> str:
    """SHA-256 of the code a compiled road graph depends on: sources and library versions."""
    digest = hashlib.sha256(FORMAT.encode())
    for package in (layers, routing):
        root = Path(package.__file__).parent
        for path in sorted(root.rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    for module in (np, pd, gpd, shapely, pyproj, nx, pa):
        digest.update(f"{module.__name__} {module.__version__}\0".encode())
    digest.update(pyproj.proj_version_str.encode())
    return digest.hexdigest()


def _category(name: str) -> type[Warning]:
    """The warning class called ``module.Name``, among those defined; UserWarning if none is."""
    found, todo = {}, [Warning]
    while todo:
        cls = todo.pop()
        found.setdefault(f"{cls.__module__}.{cls.__qualname__}", cls)
        todo.extend(cls.__subclasses__())
    return found.get(name, UserWarning)


class GraphCache:
    """The compiled road graph of a city folder's roads, in ``DIR/cache/road_graph.npz``.

    Parameters
    ----------
    folder : Path
        The city folder (written by :meth:`cim.CityModel.save`).
    roads : GeoDataFrame
        The roads layer the graph is built from; a cached graph of other roads is not used.

    Examples
    --------
    >>> import cim, routing, tempfile, warnings
    >>> city = cim.sample_city()
    >>> folder = city.save(tempfile.mkdtemp() + "/city")
    >>> cache = GraphCache(folder, city.layer("roads"))
    >>> car = routing.get_profile("car")
    >>> cache.read(car, graph=city.graph)
    >>> cache.write(city.router("car"), notes=[]).startswith("built and cached in")
    True
    >>> router, notes = cache.read(car, graph=city.graph)
    >>> router.profile.name, cache.status.startswith("read from")
    ('car', True)
    """

    def __init__(self, folder: Path, roads: gpd.GeoDataFrame):
        self.folder = Path(folder)
        self.path = self.folder / CACHE_FILE
        self._made_from = {"format": FORMAT, "code": _code_digest(), "roads": roads_digest(roads)}
        self.status = f"built and cached in {self.path}"

    def read(
        self,
        profile: routing.Profile,
        *,
        hour: int | None = None,
        graph: nx.MultiDiGraph | Callable[[], nx.MultiDiGraph],
    ) -> tuple[routing.Router, Notes] | None:
        """A Router for ``profile`` (at ``hour``) on the cached graph, and the notes its build gave.

        ``graph`` is the road graph (or a function returning it) the router answers
        :attr:`routing.Router.graph` with. None when there is no cache, or one made from
        other roads or code (:attr:`status` then says so); a file that cannot be read gives a
        :class:`GraphCacheWarning` too.
        """
        try:
            with reading_dir(self.folder):
                if not self.path.is_file():
                    return None
                with np.load(self.path, allow_pickle=False) as stored:
                    made_from = json.loads(str(stored["made_from"]))
                    if made_from != self._made_from:
                        changed = (
                            "roads"
                            if made_from.get("roads") != self._made_from["roads"]
                            else "code"
                        )
                        self.status = (
                            f"built again (the {changed} changed) and cached in {self.path}"
                        )
                        return None
                    router = routing.Router.from_arrays(stored, graph, profile=profile, hour=hour)
                    notes = json.loads(str(stored["notes"]))
                    found = router, [(_category(str(c)), str(m)) for c, m in notes]
        except Exception as err:  # whatever is wrong with the file, it is built again
            warnings.warn(
                f"{self.path}: the cached road graph cannot be read ({type(err).__name__}: {err}); "
                "it is built again and the file replaced",
                GraphCacheWarning,
                stacklevel=3,
            )
            self.status = f"built again (the cache was damaged) and cached in {self.path}"
            return None
        self.status = f"read from {self.path}"
        return found

    def write(self, router: routing.Router, notes: Notes) -> str:
        """Store the compiled roads of ``router`` and the notes their build gave; return
        :attr:`status`.

        A folder that cannot be written to (read-only, gone) is left as it is, and the status
        says why.
        """
        try:
            arrays = router.to_arrays()
            with reading_dir(self.folder):
                self.path.parent.mkdir(exist_ok=True)
                with atomic_path(self.path) as tmp:
                    np.savez(
                        tmp,
                        made_from=np.array(json.dumps(self._made_from)),
                        notes=np.array(
                            json.dumps(
                                [[f"{c.__module__}.{c.__qualname__}", m] for c, m in notes],
                                ensure_ascii=False,
                            )
                        ),
                        **arrays,
                    )
        except (OSError, ValueError) as err:
            self.status = f"built, not cached ({err})"
        return self.status
