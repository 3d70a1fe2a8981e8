"""What the routing batch API returns: snapped points and cost matrices.

:meth:`routing.Router.snap` gives a :class:`Snapped`, :meth:`routing.Router.cost_matrix` a
:class:`CostMatrix`, :meth:`routing.Router.cost_rows` a :class:`CostRows` (the same matrix
computed a few rows at a time); :meth:`routing.Router.reach` a GeoDataFrame of edge pieces. Edges are
named by their position in ``router.graph.edges(keys=True)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

__all__ = ["SNAP_CLOSED", "SNAP_FAR", "SNAP_NO_ROAD", "CostMatrix", "CostRows", "Snapped"]

SNAP_FAR = "far"  # farther than the snap limit from every road
SNAP_CLOSED = "closed"  # under a barrier on its (closed) nearest road
SNAP_NO_ROAD = "no_road"  # the graph has no edge to snap to (only loops)


@dataclass(frozen=True, eq=False)
class Snapped:
    """Points snapped onto road edges, one entry per point in the order given.

    Attributes
    ----------
    edge : ndarray of int
        The directed edge each point joins (its position in ``graph.edges(keys=True)``),
        -1 for a point that joins none.
    fraction : ndarray of float
        How far along that edge the point's foot lies, 0 at its start, 1 at its end (0 where
        the edge is -1).
    distance_m : ndarray of float
        The straight gap from the point to its nearest road, in metres (NaN when the graph
        has no road to snap to at all).
    cut_off : ndarray of object
        Why a point joins no edge, None where it does: farther than the snap limit
        (:data:`SNAP_FAR`), its road closed (:data:`SNAP_CLOSED`) or no road at all
        (:data:`SNAP_NO_ROAD`). Nothing reaches such a point and it reaches nothing.
    """

    edge: np.ndarray
    fraction: np.ndarray
    distance_m: np.ndarray
    cut_off: np.ndarray

    def __len__(self) -> int:
        return len(self.edge)

    @property
    def on_road(self) -> np.ndarray:
        """Positions of the points that joined an edge."""
        return np.flatnonzero(self.edge >= 0)


@dataclass(frozen=True, eq=False)
class CostMatrix:
    """The cost from every source to every target over the road network.

    Attributes
    ----------
    values : ndarray of float, shape (sources, targets)
        Seconds (objective ``"time"``) or metres (``"distance"``) from each source to each
        target, the straight gaps from both points to their roads included (covered at the
        profile's ``access_speed_kph`` for time); inf where no route joins them.
    source_ids, target_ids : ndarray
        The ids of the rows and columns.
    source_gap_m, target_gap_m : ndarray of float
        Each point's straight gap to its road, in metres.
    objective : str
        ``"time"`` or ``"distance"``.
    """

    values: np.ndarray
    source_ids: np.ndarray
    target_ids: np.ndarray
    source_gap_m: np.ndarray
    target_gap_m: np.ndarray
    objective: str

    def to_frame(self) -> pd.DataFrame:
        """The values as a DataFrame: one row per source id, one column per target id."""
        return pd.DataFrame(
            self.values,
            index=pd.Index(self.source_ids, name="source_id"),
            columns=pd.Index(self.target_ids, name="target_id"),
        )


class CostRows:
    """A cost matrix from many sources to fixed targets, computed row by row when asked.

    Built by :meth:`routing.Router.cost_rows`, which snaps the points and joins them to the
    road graph once; each row then costs one Dijkstra from its source, and is kept. A row
    equals the same row of :meth:`routing.Router.cost_matrix` on the same points, to the
    last bit.

    Attributes
    ----------
    source_ids, target_ids : ndarray
        The ids of the rows and columns.
    objective : str
        ``"time"`` (seconds) or ``"distance"`` (metres).
    """

    def __init__(
        self,
        graph: csr_matrix,
        first_source: int,
        source_ids: np.ndarray,
        target_ids: np.ndarray,
        objective: str,
    ):
        self._graph, self._first = graph, first_source
        self.source_ids, self.target_ids, self.objective = source_ids, target_ids, objective
        self._rows: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.source_ids)

    def rows(self, sources) -> np.ndarray:
        """The costs from the sources at these positions to every target (sources x
        targets, inf where no route joins them)."""
        sources = np.asarray(sources, dtype=np.int64).ravel().tolist()
        missing = sorted({s for s in sources if s not in self._rows})
        if missing:
            if missing[0] < 0 or missing[-1] >= len(self):
                raise IndexError(f"source positions must be 0 to {len(self) - 1}")
            found = dijkstra(self._graph, indices=self._first + np.array(missing))
            first_target = self._first + len(self)
            self._rows.update(zip(missing, found[:, first_target:].copy(), strict=True))
        if len(sources) == 1:
            return self._rows[sources[0]][None, :]
        if not sources:
            return np.zeros((0, len(self.target_ids)))
        return np.stack([self._rows[s] for s in sources])
