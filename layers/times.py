"""Times read from layers and tables, all on the city's local clock (China Standard Time).

Time columns often mix naive times ("2026-07-15 08:00", what a spreadsheet writes) with
times that carry an offset ("2026-07-15T00:00:00Z", what an API or a sensor gateway
writes). The rule: a naive time is already local time (``Asia/Shanghai``, UTC+8, no
daylight saving); a time with an offset is converted to local time. Either way the result
is a naive local time, so naive and offset times can be compared and subtracted.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["LOCAL_TZ", "local_times"]

LOCAL_TZ = "Asia/Shanghai"


def _local(value) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return pd.NaT
    if stamp is pd.NaT or stamp.tzinfo is None:
        return stamp
    return stamp.tz_convert(LOCAL_TZ).tz_localize(None)


def local_times(values) -> pd.Series:
    """Parse times to naive local time (see the module's rule); NaT where unreadable.

    Parameters
    ----------
    values : array-like
        Strings, datetimes or Timestamps, naive or with an offset, mixed freely.

    Returns
    -------
    Series
        ``datetime64`` without a time zone, on the index of ``values`` when it is a Series.

    Examples
    --------
    >>> local_times(["2026-07-15 08:00", "2026-07-15T00:00:00Z", "soon"]).tolist()
    [Timestamp('2026-07-15 08:00:00'), Timestamp('2026-07-15 08:00:00'), NaT]
    """
    values = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    try:
        parsed = pd.to_datetime(values, errors="coerce", format="mixed")
    except (TypeError, ValueError):  # naive and offset times, or several offsets, in one column
        return pd.to_datetime(values.map(_local))
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert(LOCAL_TZ).dt.tz_localize(None)
    # pandas drops Timestamps whose zone differs from the first one's; read those one by one
    retry = parsed.isna() & values.notna()
    if retry.any():
        parsed[retry] = pd.to_datetime(values[retry].map(_local))
    return parsed
