"""Depression filling by priority-flood, compiled with numba.

Barnes, Lehman and Mulla (2014), "Priority-Flood: An optimal depression-filling and
watershed-labeling algorithm" (Computers & Geosciences 62), Priority-Flood+ without epsilon,
with the slope tracing of Zhou, Sun and Fu (2016, Computers & Geosciences 90): every cell is
raised to its spill level, the lowest level at which water standing on it could flow through
8-connected cells to the edge of the grid or to a nodata cell, which drain. The result is
scikit-image's morphological reconstruction by erosion seeded at those outlets, bit for bit,
in the dtype of the input. Besides the result (a copy of the input) it uses a 1-byte flag per
cell, and a heap, a pit stack and a slope queue that reserve a 4-byte index per cell each (the
heap's keys as many bytes as the dtype) but touch only the pages they fill: the heap drops
the cells that can no longer flood anything, so it stays small.

numba compiles the kernel once per dtype, about a second, and caches it on disk beside this
module, or in the user's cache folder when the package folder is read-only (numba's rule);
:mod:`cim.waterlogging` imports this module only when it fills a DEM.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["fill_depressions"]


def fill_depressions(elevation: np.ndarray) -> np.ndarray:
    """The surface with every depression filled to its spill level; NaN cells stay NaN.

    The edge of the grid and NaN (nodata) cells drain: a cell on the edge or next to a NaN
    keeps its elevation. Float32 in gives float32 out.

    Parameters
    ----------
    elevation : ndarray
        A 2-D array of float32 or float64; NaN where unknown.

    Returns
    -------
    ndarray
        A new array of the same shape and dtype.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.array([[5, 5, 5, 5], [5, 1, 2, 5], [5, 3, 5, 4], [5, 5, 5, 5]], dtype=np.float32)
    >>> fill_depressions(z)
    array([[5., 5., 5., 5.],
           [5., 4., 4., 5.],
           [5., 4., 5., 4.],
           [5., 5., 5., 5.]], dtype=float32)
    """
    z = np.asarray(elevation)
    if z.ndim != 2 or z.dtype.type not in (np.float32, np.float64):
        raise TypeError(f"fill_depressions takes a 2-D float array, not {z.ndim}-D {z.dtype}")
    filled = np.array(z, dtype=z.dtype.newbyteorder("="), order="C")
    index = np.int32 if z.size < 2**31 else np.int64
    # the queues are never all written: np.empty reserves their pages without touching them
    queues = [np.empty(z.size, dtype=index) for _ in range(3)]
    _flood(filled, np.empty(z.size, dtype=filled.dtype), *queues)
    return filled


@njit(nogil=True, cache=True)
def _flood(surface, keys, heap, pit, slope):
    """Fill ``surface`` in place; a cell's value is its elevation until it is closed."""
    rows, cols = surface.shape
    z = surface.ravel()
    closed = np.isnan(z)
    rise = np.array([-1, -1, -1, 0, 0, 1, 1, 1])
    step = np.array([-1, 0, 1, -1, 1, -1, 0, 1])
    ring = rise * cols + step  # flat offsets of the 8 neighbours
    size = 0  # outlets, then cells waiting for their level, on the heap lowest first
    for r in range(rows):
        for c in range(cols):
            cell = r * cols + c
            if not closed[cell] and (r == 0 or c == 0 or r == rows - 1 or c == cols - 1):
                closed[cell] = True
                size = _push(keys, heap, size, z[cell], cell)
    for cell in range(z.size):  # the neighbours of nodata cells are outlets too
        if closed[cell] and np.isnan(z[cell]):
            r, c = cell // cols, cell % cols
            for k in range(8):
                if 0 <= r + rise[k] < rows and 0 <= c + step[k] < cols:
                    near = cell + ring[k]
                    if not closed[near]:
                        closed[near] = True
                        size = _push(keys, heap, size, z[near], near)
    limit = max(2 * size, _PURGE_AT)
    top = 0  # flooded cells on the pit stack, all at the level of the cell that reached them
    while size > 0 or top > 0:
        if top > 0:
            top -= 1
            cell = pit[top]
        else:
            cell = heap[0]
            size = _pop(keys, heap, size)
            if size > 0:  # the next cell off the heap is most likely far away: fetch it now
                ahead = np.int64(heap[0])
                for row in range(ahead - cols, ahead + cols + 1, cols):
                    _prefetch(z, row)
                    _prefetch(closed, row)
        level = z[cell]
        r, c = cell // cols, cell % cols
        edge = r == 0 or c == 0 or r == rows - 1 or c == cols - 1
        head = tail = 0  # cells on the slope queue: above the level, at their final height
        for k in range(8):
            if edge and not (0 <= r + rise[k] < rows and 0 <= c + step[k] < cols):
                continue
            near = cell + ring[k]
            if closed[near]:
                continue
            closed[near] = True
            if z[near] <= level:
                z[near] = level
                pit[top] = near
                top += 1
            else:
                slope[tail] = near
                tail += 1
        # the order matters only for cells below a level: a cell on a rising slope spreads
        # to higher cells at once, and waits on the heap for its turn only when a lower open
        # neighbour may have to fill up to it (Zhou, Sun and Fu 2016)
        while head < tail:
            cell = slope[head]
            head += 1
            height = z[cell]
            wait = False
            for k in range(8):  # never on the edge: edge cells start on the heap
                near = cell + ring[k]
                if closed[near]:
                    continue
                if z[near] < height:
                    wait = wait or not _drained(z, closed, near, ring, height)
                else:
                    closed[near] = True
                    slope[tail] = near
                    tail += 1
            if wait:
                size = _push(keys, heap, size, height, cell)
                if size > limit:
                    size = _purge(keys, heap, size, closed, ring, rows, cols)
                    limit = max(2 * size, _PURGE_AT)


@intrinsic
def _prefetch(typingctx, array, index):
    """Ask the CPU to bring ``array[index]`` into its caches; it changes nothing else."""

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        address = builder.bitcast(builder.gep(data, [args[1]]), ir.IntType(8).as_pointer())
        int32 = ir.IntType(32)
        fetch = builder.module.declare_intrinsic(
            "llvm.prefetch",
            [address.type],
            ir.FunctionType(ir.VoidType(), [address.type, int32, int32, int32]),
        )
        builder.call(fetch, [address, int32(0), int32(3), int32(1)])  # read, keep, data
        return context.get_dummy_value()

    return types.void(array, index), codegen


# Nearly every waiting cell finds its lower neighbours flooded from elsewhere before its turn;
# the heap drops such cells when it has doubled since it last did (and holds this many), which
# keeps it small enough to stay in the cache at the cost of one pass per doubling.
_PURGE_AT = 4096


@njit
def _drained(z, closed, cell, ring, height):
    """Whether an open cell has a closed neighbour below ``height``.

    Its spill level is then below ``height`` (a closed cell holds its final level), so a cell
    at ``height`` would never be the one to flood it.
    """
    for k in range(8):
        near = cell + ring[k]
        if closed[near] and z[near] < height:
            return True
    return False


@njit
def _purge(keys, heap, size, closed, ring, rows, cols):
    """Drop the waiting cells whose neighbours are all closed, then restore the heap order.

    Such a cell would flood nothing when its turn came: a closed cell stays closed.
    """
    kept = 0
    for at in range(size):
        cell = heap[at]
        r, c = cell // cols, cell % cols
        useful = r == 0 or c == 0 or r == rows - 1 or c == cols - 1  # outlets on the edge stay
        for k in range(8):
            useful = useful or not closed[cell + ring[k]]
        if useful:
            keys[kept], heap[kept] = keys[at], heap[at]
            kept += 1
    for at in range((kept - 2) // 4, -1, -1):
        _sink(keys, heap, kept, at, keys[at], heap[at])
    return kept


# The heap is 4-ary, its keys (the levels) and cells in two arrays. The helpers are compiled as
# functions of their own: inlined by numba (inline="always") they took 20% longer, counting
# references to the arrays at every call.
@njit
def _push(keys, heap, size, key, cell):
    at = size
    while at > 0:
        parent = (at - 1) >> 2
        if keys[parent] <= key:
            break
        keys[at], heap[at] = keys[parent], heap[parent]
        at = parent
    keys[at], heap[at] = key, cell
    return size + 1


@njit
def _pop(keys, heap, size):
    size -= 1
    _sink(keys, heap, size, 0, keys[size], heap[size])
    return size


@njit
def _sink(keys, heap, size, at, key, cell):
    """Put ``key, cell`` at ``at`` in the heap or below it, where its order holds."""
    while True:
        first = 4 * at + 1
        if first >= size:
            break
        child = first
        for other in range(first + 1, min(first + 4, size)):
            if keys[other] < keys[child]:
                child = other
        if key <= keys[child]:
            break
        keys[at], heap[at] = keys[child], heap[child]
        at = child
    keys[at], heap[at] = key, cell
