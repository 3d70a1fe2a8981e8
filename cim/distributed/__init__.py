"""Scale-out: the bulk jobs over partitioned tables, in-process or on a Dask cluster.

The same call runs in this process (the default, Dask not needed) or on a cluster chosen by
:func:`connect` (``local:N`` worker processes, or an existing scheduler's address), with the
same results. Inputs and outputs are folders of Parquet / GeoParquet partitions, read and
written one partition per task. The names load with their module on first use, so that a
worker parsing addresses does not import the routing or the vital signs.

>>> from cim import distributed
>>> distributed.resolve("local:2")
'local:2'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cim.lazy import lazy_attributes

if TYPE_CHECKING:
    from cim.distributed.address import geocode_partitions, parse_partitions
    from cim.distributed.coverage import sensor_counts
    from cim.distributed.dispatch import Fleet, dispatch_partitions
    from cim.distributed.partitions import (
        PartitionedRun,
        PartitionResult,
        partition_paths,
        run_partitions,
    )
    from cim.distributed.scheduler import (
        IN_PROCESS,
        SCHEDULER_ENV,
        DaskMissingError,
        connect,
        require_dask,
        resolve,
    )
    from cim.distributed.simulation import replicate
    from cim.distributed.vitals import vital_signs

_HOMES = {
    "geocode_partitions": "cim.distributed.address",
    "parse_partitions": "cim.distributed.address",
    "sensor_counts": "cim.distributed.coverage",
    "Fleet": "cim.distributed.dispatch",
    "dispatch_partitions": "cim.distributed.dispatch",
    "PartitionedRun": "cim.distributed.partitions",
    "PartitionResult": "cim.distributed.partitions",
    "partition_paths": "cim.distributed.partitions",
    "run_partitions": "cim.distributed.partitions",
    "IN_PROCESS": "cim.distributed.scheduler",
    "SCHEDULER_ENV": "cim.distributed.scheduler",
    "DaskMissingError": "cim.distributed.scheduler",
    "connect": "cim.distributed.scheduler",
    "require_dask": "cim.distributed.scheduler",
    "resolve": "cim.distributed.scheduler",
    "vital_signs": "cim.distributed.vitals",
    "replicate": "cim.distributed.simulation",
}
__all__ = [
    "IN_PROCESS",
    "SCHEDULER_ENV",
    "DaskMissingError",
    "Fleet",
    "PartitionResult",
    "PartitionedRun",
    "connect",
    "dispatch_partitions",
    "geocode_partitions",
    "parse_partitions",
    "partition_paths",
    "replicate",
    "require_dask",
    "resolve",
    "run_partitions",
    "sensor_counts",
    "vital_signs",
]
__getattr__, __dir__ = lazy_attributes(__name__, _HOMES)
