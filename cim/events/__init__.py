"""City events from report to closure (感知发现 → 决策指挥 → 反应处置 → 终端反馈).

- :mod:`cim.events.intake`: hotline calls, grid patrols and sensor alarms, located through
  the address base or the sensors layer, classified, dispatched and logged in batches;
- :mod:`cim.events.classify`: the classes of GB/T 30428.2-2013 with their departments and
  time limits (``classes.yaml``, configurable);
- :mod:`cim.events.log`: the SQLite event log, the lifecycle and its time-limit escalation.
"""

from cim.events.classify import EventClass, classify, load_classes
from cim.events.intake import IngestResult, check_events, ingest
from cim.events.log import STATES, EventLog, LifecycleError

__all__ = [
    "STATES",
    "EventClass",
    "EventLog",
    "IngestResult",
    "LifecycleError",
    "check_events",
    "classify",
    "ingest",
    "load_classes",
]
