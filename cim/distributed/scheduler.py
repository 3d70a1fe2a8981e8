"""Where work runs: in this process (the default), a local cluster, or an existing Dask cluster.

One spelling serves the library and the command line (``--scheduler``):

- ``None`` or ``"in-process"``: partitions one after another in this process, Dask not needed;
  ``None`` first looks at the ``DASK_SCHEDULER_ADDRESS`` environment variable;
- ``"local"`` or ``"local:N"``: a :class:`distributed.LocalCluster` of N worker processes
  (one thread each; one per core by default), started for the job and stopped after it;
- ``"tcp://host:8786"`` (or ``tls://``, ``inproc://``, ``ucx://``): an existing scheduler.

Dask is an optional extra (``pip install cim-toolkit[dask]``); asking for a cluster without it
raises :class:`DaskMissingError` saying so.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import layers

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["IN_PROCESS", "SCHEDULER_ENV", "DaskMissingError", "connect", "require_dask", "resolve"]

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
IN_PROCESS = "in-process"
INSTALL = "pip install 'cim-toolkit[dask]'"
_LOCAL = re.compile(r"local(?::(\d+))?")
_ADDRESS = re.compile(r"(tcp|tls|inproc|ucx)://\S+")


class DaskMissingError(layers.InputError):
    """A cluster was asked for but Dask (``distributed``, ``dask-geopandas``) is not installed."""


def require_dask(scheduler: str = "a Dask cluster") -> None:
    """Import the Dask extra, or raise :class:`DaskMissingError` saying how to install it.

    Examples
    --------
    >>> require_dask()  # nothing to say when the extra is installed
    """
    try:
        import dask_geopandas  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as err:
        raise DaskMissingError(
            f"--scheduler {scheduler} needs Dask, which is not installed ({err.name} is "
            f"missing): install it with {INSTALL}, or leave --scheduler out to run in-process"
        ) from None


def resolve(scheduler: str | None = None) -> str:
    """The scheduler to use, checked: ``"in-process"``, ``"local:N"`` or an address.

    ``None`` means ``$DASK_SCHEDULER_ADDRESS`` when that is set, else in-process; ``"local"``
    means one worker per core.

    Raises
    ------
    layers.InputError
        When ``scheduler`` is none of the forms above.

    Examples
    --------
    >>> resolve("local:2"), resolve("tcp://10.0.0.5:8786"), resolve("in-process")
    ('local:2', 'tcp://10.0.0.5:8786', 'in-process')
    """
    if scheduler is None:
        scheduler = os.environ.get(SCHEDULER_ENV) or IN_PROCESS
    text = scheduler.strip()
    if text in (IN_PROCESS, "inprocess", "none"):
        return IN_PROCESS
    local = _LOCAL.fullmatch(text)
    if local:
        workers = int(local.group(1) or os.cpu_count() or 1)
        if workers < 1:
            raise layers.InputError(f"--scheduler {text}: a local cluster needs 1 worker or more")
        return f"local:{workers}"
    if _ADDRESS.fullmatch(text):
        return text
    raise layers.InputError(
        f"--scheduler {scheduler!r} is not one of: in-process, local, local:N (N worker "
        "processes), or a scheduler address such as tcp://host:8786"
    )


@contextlib.contextmanager
def connect(
    scheduler: str | None = None, *, memory_limit: str | None = None
) -> Iterator[Client | None]:
    """A Dask client for ``scheduler`` (see :func:`resolve`), or None to run in-process.

    A ``local:N`` cluster is started here and stopped on leaving; an address is connected
    to and left running. ``memory_limit`` (e.g. ``"2GB"``) caps each local worker: Dask
    spills to disk as a worker nears it and restarts a worker that passes it.

    Examples
    --------
    >>> with connect("in-process") as client:
    ...     client is None
    True
    """
    where = resolve(scheduler)
    if where == IN_PROCESS:
        yield None
        return
    require_dask(where)
    from distributed import Client, LocalCluster

    if where.startswith("local:"):
        cluster = LocalCluster(
            n_workers=int(where.split(":")[1]),
            threads_per_worker=1,  # the jobs are pure Python: one process per core
            processes=True,
            memory_limit=memory_limit or "auto",
            dashboard_address=None,
            silence_logs=logging.CRITICAL,  # workers' chatter when the cluster stops is noise
        )
        with cluster, Client(cluster) as client:
            yield client
    else:
        with Client(where) as client:
            yield client
