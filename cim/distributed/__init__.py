"""Scale-out: the bulk jobs over partitioned tables, in-process or on a Dask cluster.

The same call runs in this process (the default, Dask not needed) or on a cluster chosen by
:func:`connect` (``local:N`` worker processes, or an existing scheduler's address), with the
same results. Inputs and outputs are folders of Parquet / GeoParquet partitions, read and
written one partition per task.

>>> from cim import distributed
>>> distributed.resolve("local:2")
'local:2'
"""

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
from cim.distributed.vitals import vital_signs

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
    "require_dask",
    "resolve",
    "run_partitions",
    "sensor_counts",
    "vital_signs",
]
