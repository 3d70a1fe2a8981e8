"""The City Information Model: named, validated layers plus the road graph."""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import geopandas as gpd
import networkx as nx
import numpy as np
from pyproj import CRS

import layers
import routing
from cim.atomic import atomic_dir, reading_dir
from cim.graph_cache import GraphCache
from cim.settings import CitySettings
from layers.crs import metric_crs

__all__ = ["CityModel"]

MANIFEST = "manifest.json"
FORMAT = "cim-city/1"
# kinds that place the others, in the order they are added: each is checked against those before it
REFERENCE_KINDS = ("roads", "buildings", "districts", "streets", "communities", "grid")


class CityModel:
    """A city as named GeoDataFrame layers (EPSG:4326) and a routable road graph.

    Every layer is validated against its kind's schema when added. The road graph is built
    from the ``roads`` layer on first use unless one is given, and compiled once for all
    vehicle profiles; a model loaded from a city folder keeps the compiled graph there
    (:mod:`cim.graph_cache`), so the next load does not build it again.

    Parameters
    ----------
    layers : mapping of str to GeoDataFrame, optional
        Layers by name; a name that is a layer kind (``"buildings"``) is that kind.
    kinds : mapping of str to str, optional
        Kind of each layer whose name is not a kind, e.g. ``{"fire_stations": "facilities"}``.
    graph : networkx.MultiDiGraph, optional
        Road graph to use instead of one built from ``roads``.
    name : str
        A label for the model.
    settings : CitySettings, optional
        The city's home province / city for addresses, map credits, metric CRS and DEM;
        saved with the model.

    Attributes
    ----------
    road_graph_cache : str or None
        What the city folder's road graph cache did for this model ("read from DIR/cache/…",
        "built and cached in …", "built, not cached (…)"); None until a router is made, and
        for a model not loaded from a folder.

    Examples
    --------
    >>> import cim
    >>> city = cim.sample_city()
    >>> city.layer("buildings").crs.to_epsg()
    4326
    >>> "roads" in city.layers
    True
    """

    def __init__(
        self,
        layers: Mapping[str, gpd.GeoDataFrame] | None = None,
        *,
        kinds: Mapping[str, str] | None = None,
        graph: nx.MultiDiGraph | None = None,
        name: str = "city",
        settings: CitySettings | None = None,
    ):
        self.name = name
        self.settings = settings or CitySettings()
        self._layers: dict[str, gpd.GeoDataFrame] = {}
        self._kinds: dict[str, str] = {}
        self._graph = graph
        self._graph_given = graph is not None
        self._routers: dict[tuple, routing.Router] = {}
        self._compiled: routing.Router | None = None  # the compiled roads, for any profile
        self._notes: list[tuple[type[Warning], str]] = []  # what building the graph warned
        self._told = False  # whether those warnings were given
        self._folder: Path | None = None  # the city folder whose cache serves the graph
        self.road_graph_cache: str | None = None
        kinds = dict(kinds or {})
        for layer_name in _placing_first(layers or {}, kinds):
            self.add_layer(layer_name, layers[layer_name], kind=kinds.get(layer_name))

    @property
    def layers(self) -> Mapping[str, gpd.GeoDataFrame]:
        """Read-only mapping of layer name to GeoDataFrame."""
        return MappingProxyType(self._layers)

    def kind_of(self, name: str) -> str:
        """The layer kind (a member of ``layers.KINDS``) of the layer called ``name``."""
        self.layer(name)
        return self._kinds[name]

    def layer(self, name: str) -> gpd.GeoDataFrame:
        """The validated layer called ``name`` (EPSG:4326)."""
        if name not in self._layers:
            have = ", ".join(self._layers) or "none"
            raise layers.MissingError(f"{self.name} has no layer {name!r}; it has: {have}")
        return self._layers[name]

    def add_layer(
        self,
        name: str,
        data,
        *,
        kind: str | None = None,
        source_crs=None,
        check_placement: bool = True,
    ) -> gpd.GeoDataFrame:
        """Validate and add (or replace) a layer; ``data`` is a GeoDataFrame or a file path.

        The layer is checked against the city's other reference layers (:meth:`references`):
        points and buildings must lie within their extent (plus 2 km), and a layer that
        lines up with them only after GCJ-02 → WGS84 is refused as mislabelled.
        ``check_placement=False`` skips that check (the schema is still checked), for layers
        that passed it already, as :meth:`load` does with a saved model's.
        """
        kind = kind or name
        if kind not in layers.KINDS:
            raise layers.LayerError(
                name, f"say which kind this layer is: kind= one of {', '.join(layers.KINDS)}"
            )
        reference = self.references(exclude=name) if check_placement else None
        gdf = layers.load(kind, data, source_crs=source_crs, reference=reference)
        self._layers[name], self._kinds[name] = gdf, kind
        if name == "roads" and not self._graph_given:
            self._graph, self._compiled, self._folder = None, None, None
            self._notes, self._told, self.road_graph_cache = [], False, None
            self._routers.clear()
        return gdf

    def references(self, *, exclude: str | None = None) -> dict[str, gpd.GeoDataFrame]:
        """The layers that place the others: roads, buildings and unit polygons, by name.

        Pass them as ``reference=`` to :func:`layers.load` or to the CLI's readers.

        Examples
        --------
        >>> import cim
        >>> list(cim.sample_city().references(exclude="grid"))
        ['roads', 'buildings', 'districts', 'streets', 'communities']
        """
        return {
            layer_name: gdf
            for layer_name, gdf in self._layers.items()
            if self._kinds[layer_name] in REFERENCE_KINDS and layer_name != exclude
        }

    @property
    def metric_crs(self) -> CRS:
        """The projected CRS (metres) for the city's analyses.

        ``settings.metric_crs`` when set, else the CGCS2000 3-degree zone of the roads (or
        buildings, districts, the first layer) by :func:`layers.crs.metric_crs`.

        Examples
        --------
        >>> import cim
        >>> cim.sample_city().metric_crs.to_epsg()
        4544
        """
        if self.settings.metric_crs is not None:
            return CRS.from_epsg(self.settings.metric_crs)
        if not self._layers:
            raise layers.MissingError(f"{self.name} has no layers to pick a metric CRS from")
        name = next((n for n in ("roads", "buildings", "districts") if n in self._layers), None)
        return metric_crs(self._layers[name or next(iter(self._layers))])

    @property
    def graph(self) -> nx.MultiDiGraph:
        """The road graph (OSMnx-compatible ``MultiDiGraph``)."""
        if self._graph is None:
            if "roads" not in self._layers:
                raise layers.MissingError(
                    f"{self.name} has no roads layer to build a road graph from"
                )
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self._graph = routing.graph_from_roads(self._layers["roads"])
            self._notes = [(note.category, str(note.message)) for note in caught]
            self._tell(self._notes, stacklevel=3)
        return self._graph

    def router(
        self, profile: str | routing.Profile = "car", *, hour: int | None = None
    ) -> routing.Router:
        """A :class:`routing.Router` on the city's graph for ``profile`` (at ``hour`` of day).

        The graph is compiled once for every profile; a model loaded from a city folder reads
        it from the folder's cache when the cache was made from the same roads, and writes
        it there otherwise (see :attr:`road_graph_cache`). A cached graph gives the same
        routes, and the same warnings about the roads, as one built anew.

        Examples
        --------
        >>> import cim
        >>> cim.sample_city().router("fire_engine", hour=8).profile.name
        'fire_engine'
        """
        profile = routing.get_profile(profile)
        key = (repr(profile), hour)
        if key not in self._routers:
            self._routers[key] = self._compile(profile, hour).with_profile(profile, hour=hour)
        return self._routers[key]

    def _compile(self, profile: routing.Profile, hour: int | None) -> routing.Router:
        """The compiled road graph: from the folder's cache when it has it, else built."""
        if self._compiled is None:
            cache = None
            if self._folder is not None and not self._graph_given and "roads" in self._layers:
                cache = GraphCache(self._folder, self._layers["roads"])
                found = cache.read(profile, hour=hour, graph=lambda: self.graph)
                if found is not None:
                    self._compiled, notes = found
                    self._tell(notes, stacklevel=4)
                    self.road_graph_cache = cache.status
                    return self._compiled
            self._compiled = routing.Router(self.graph, profile=profile, hour=hour)
            if cache is not None:
                self.road_graph_cache = cache.write(self._compiled, self._notes)
        return self._compiled

    def _tell(self, notes: list[tuple[type[Warning], str]], *, stacklevel: int) -> None:
        """Give the warnings that building the road graph gave, once per model."""
        if not self._told:
            self._told = True
            for category, message in notes:
                warnings.warn(message, category, stacklevel=stacklevel + 1)

    def vitals(self, level: str = "district", **options):
        """The city's vital signs per unit of ``level``: see :func:`cim.vitals.compute`."""
        from cim.vitals import compute

        return compute(self, level, **options)

    def __repr__(self) -> str:
        lines = [f"CityModel {self.name!r}: {len(self._layers)} layers"]
        width = max((len(n) for n in self._layers), default=0)
        for layer_name, gdf in self._layers.items():
            kind = self._kinds[layer_name]
            label = "" if kind == layer_name else f" ({kind})"
            lines.append(
                f"  {layer_name:<{width}}  {len(gdf):>6} rows  {gdf.crs.to_string()}{label}"
            )
        if self._graph is not None:
            lines.append(
                f"  graph: {self._graph.number_of_nodes()} nodes, {self._graph.number_of_edges()} edges"
            )
        return "\n".join(lines)

    def save(self, path) -> Path:
        """Write the model to a folder: one GeoParquet file per layer and ``manifest.json``.

        The new folder is written beside the old one and swapped in when complete, so a
        failed or killed save leaves the previous model loadable (see :mod:`cim.atomic`).
        A graph that was given (not built from ``roads``) is saved as
        ``graph_nodes.parquet`` / ``graph_edges.parquet``. The new folder has no road graph
        cache: the first router made on it after a :meth:`load` writes one.

        Examples
        --------
        >>> import cim, tempfile
        >>> path = cim.sample_city().save(tempfile.mkdtemp() + "/city")
        >>> sorted(p.name for p in path.iterdir())[:2]
        ['addresses.parquet', 'buildings.parquet']
        """
        path = Path(path)
        manifest = {
            "format": FORMAT,
            "name": self.name,
            "settings": self.settings.to_dict(relative_to=path.resolve()),
            "layers": {},
            "graph": None,
        }
        with atomic_dir(path) as tmp:
            for layer_name, gdf in self._layers.items():
                gdf.to_parquet(tmp / f"{layer_name}.parquet")
                manifest["layers"][layer_name] = {
                    "kind": self._kinds[layer_name],
                    "file": f"{layer_name}.parquet",
                    "rows": len(gdf),
                    "crs": gdf.crs.to_string(),
                }
            if self._graph_given:
                import osmnx as ox  # 1-2 s to import: only a model with its own graph needs it

                nodes, edges = ox.graph_to_gdfs(self._graph)
                nodes.to_parquet(tmp / "graph_nodes.parquet")
                edges.to_parquet(tmp / "graph_edges.parquet")
                manifest["graph"] = {"nodes": "graph_nodes.parquet", "edges": "graph_edges.parquet"}
            (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), "utf-8")
        return path

    @classmethod
    def load(cls, path, *, cache: bool = True) -> CityModel:
        """Read a model written by :meth:`save`.

        With ``cache`` (the default) its routers use the compiled road graph kept in
        ``path/cache/`` (see :meth:`router`); ``cache=False`` leaves the folder unwritten.

        Examples
        --------
        >>> import cim
        >>> city = cim.CityModel.load(cim.sample.SAMPLE_DIR)
        >>> city.name
        'chengdu'
        """
        path = Path(path)
        with reading_dir(path):
            manifest_path = path / MANIFEST
            if not manifest_path.exists():
                raise FileNotFoundError(
                    f"{path} is not a saved city model (no {MANIFEST}); save one with CityModel.save"
                )
            manifest = _read_manifest(manifest_path)
            try:
                settings = CitySettings.from_dict(
                    manifest.get("settings") or {}, base=path.resolve()
                )
            except layers.InputError as err:
                raise layers.InputError(
                    f"{manifest_path}: {err}; fix the 'settings' entry or save the model again "
                    "with CityModel.save",
                    source=str(manifest_path),
                ) from None
            graph = None
            if manifest.get("graph"):
                nodes = gpd.read_parquet(path / manifest["graph"]["nodes"])
                edges = gpd.read_parquet(path / manifest["graph"]["edges"])
                if not (
                    {"x", "y"} <= set(nodes.columns)
                    and nodes.index.is_unique
                    and edges.index.nlevels == 3
                    and edges.index.is_unique
                ):
                    raise layers.InputError(
                        f"{path}: its graph files are not a node table (x, y) and an edge table "
                        "indexed by u, v, key, each uniquely; save the model again with "
                        "CityModel.save",
                        source=str(path),
                    )
                graph = _graph_from_frames(nodes, edges)
            found = {
                name: gpd.read_parquet(path / entry["file"])
                for name, entry in manifest["layers"].items()
            }
        kinds = {name: entry["kind"] for name, entry in manifest["layers"].items()}
        model = cls(graph=graph, name=manifest.get("name", path.name), settings=settings)
        for name in _placing_first(found, kinds):  # placed when they were first added
            model.add_layer(name, found[name], kind=kinds[name], check_placement=False)
        model._folder = path if cache else None
        return model


def _graph_from_frames(nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame) -> nx.MultiDiGraph:
    """The graph :func:`osmnx.graph_from_gdfs` makes of ``nodes`` and ``edges`` (indexed by
    ``(u, v, key)``), each edge without its null attributes, with nulls found a column at a
    time: osmnx tests every value alone, a second for the 28,000 edges of a city's roads."""
    graph = nx.MultiDiGraph(crs=edges.crs)
    names = edges.columns.to_list()
    values = [edges[name].to_numpy(dtype=object) for name in names]
    present = np.column_stack([edges[name].notna().to_numpy() for name in names])
    graph.add_edges_from(
        (
            u,
            v,
            k,
            {
                name: column[i]
                for name, column, here in zip(names, values, row, strict=True)
                if here
            },
        )
        for i, ((u, v, k), row) in enumerate(zip(edges.index, present, strict=True))
    )
    graph.add_nodes_from(set(nodes.index) - set(graph.nodes))
    for name in nodes.columns.drop(nodes.active_geometry_name):
        nx.set_node_attributes(graph, values=nodes[name].dropna().to_dict(), name=name)
    return graph


def _placing_first(names, kinds: Mapping[str, str]) -> list[str]:
    """Layer names with the reference kinds first, in ``REFERENCE_KINDS`` order."""

    def rank(name: str) -> int:
        kind = kinds.get(name, name)
        return REFERENCE_KINDS.index(kind) if kind in REFERENCE_KINDS else len(REFERENCE_KINDS)

    return sorted(names, key=rank)


def _read_manifest(path: Path) -> dict:
    """The manifest of a saved model, refused in one line if :meth:`CityModel.load` cannot use it."""
    fix = "save the model again with CityModel.save"
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise layers.InputError(
            f"{path}: not valid JSON ({err}); {fix}", source=str(path)
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else manifest
        raise layers.InputError(
            f"{path}: unknown format {found!r}, expected {FORMAT}; {fix}", source=str(path)
        )
    entries = manifest.get("layers")
    graph = manifest.get("graph") or {"nodes": "", "edges": ""}
    if not (
        isinstance(entries, dict)
        and all(
            isinstance(e, dict)
            and isinstance(e.get("file"), str)
            and isinstance(e.get("kind"), str)
            for e in entries.values()
        )
        and isinstance(graph, dict)
        and all(isinstance(graph.get(key), str) for key in ("nodes", "edges"))
    ):
        raise layers.InputError(
            f"{path}: 'layers' must map each name to its file and kind, and 'graph' name its "
            f"nodes and edges files; {fix}",
            source=str(path),
        )
    return manifest
