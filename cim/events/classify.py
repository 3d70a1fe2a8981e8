"""Event classes after GB/T 30428.2-2013, with departments and time limits, and the classifier."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import layers
from cim.config import check_fields, read_entries

__all__ = ["CLASSES", "EventClass", "classify", "load_classes"]

CLASSES = Path(__file__).with_name("classes.yaml")


@dataclass(frozen=True)
class EventClass:
    """A subclass of events: who handles it, how fast, and what the router sends."""

    major: str
    major_name: str
    code: str
    name: str
    department: str
    respond_min: float
    resolve_min: float
    priority: int = 3
    keywords: tuple[str, ...] = ()
    sensor_kinds: tuple[str, ...] = ()
    kind: str | None = None  # incident kind for dispatch (fire, medical …); None: no vehicle

    def __post_init__(self) -> None:
        label = f"class {self.code!r}"
        check_fields(self, label=label, error=layers.InputError)
        if "" in self.keywords:
            raise layers.InputError(f"{label}: an empty keyword matches every text; remove it")


def load_classes(path=CLASSES) -> list[EventClass]:
    """Event classes from YAML, in the order they are tried; the last one catches the rest.

    Examples
    --------
    >>> classes = load_classes()
    >>> classes[0].name, classes[0].department, classes[-1].name
    ('火灾', '消防救援支队', '其他')
    """
    return read_entries(path, EventClass, key="classes", what="class", name="code")


def classify(texts, sensor_kinds=None, *, classes: list[EventClass] | None = None) -> pd.DataFrame:
    """The class of each event: by the sensor's kind for alarms, else by keywords in the text.

    Returns ``class_code, class_name, major, major_name, department, kind, priority,
    respond_min, resolve_min`` per event; text matching no keyword falls in the last class.

    Examples
    --------
    >>> classify(["三楼厨房着火了", "小区门口垃圾堆放", "路上"], ["", "", "manhole"])[
    ...     ["class_name", "department"]].values.tolist()
    [['火灾', '消防救援支队'], ['暴露垃圾', '环卫所'], ['井盖及市政设施', '市政设施管理处']]
    """
    classes = load_classes() if classes is None else classes
    texts = pd.Series(texts, dtype=object).fillna("").astype(str).reset_index(drop=True)
    sensors = (
        pd.Series([""] * len(texts))
        if sensor_kinds is None
        else pd.Series(sensor_kinds, dtype=object).fillna("").astype(str).reset_index(drop=True)
    )
    chosen = np.full(len(texts), len(classes) - 1)
    open_rows = np.ones(len(texts), dtype=bool)
    for number, event_class in enumerate(classes[:-1]):
        hit = sensors.isin(event_class.sensor_kinds).to_numpy() & open_rows
        chosen[hit] = number
        open_rows &= ~hit
    no_sensor = (sensors == "").to_numpy()
    for number, event_class in enumerate(classes[:-1]):
        if not event_class.keywords:
            continue
        pattern = "|".join(map(re.escape, event_class.keywords))
        hit = texts.str.contains(pattern, regex=True).to_numpy() & open_rows & no_sensor
        chosen[hit] = number
        open_rows &= ~hit
    table = pd.DataFrame(
        [
            {
                "class_code": c.code,
                "class_name": c.name,
                "major": c.major,
                "major_name": c.major_name,
                "department": c.department,
                "kind": c.kind,
                "priority": c.priority,
                "respond_min": c.respond_min,
                "resolve_min": c.resolve_min,
            }
            for c in classes
        ]
    )
    return table.iloc[chosen].reset_index(drop=True)
