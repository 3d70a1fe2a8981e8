"""Make user text safe for the toolkit's Markdown reports and CSV tables.

Names, ids, addresses and notes come from users' files, so a report or a table must never
turn them into markup or a spreadsheet formula. HTML pages escape on their own (see
:mod:`cim.views.html`); Markdown and CSV escape here, and only here.
"""

from __future__ import annotations

import html
import re

import pandas as pd

__all__ = ["FORMULA_PREFIXES", "csv_safe", "markdown_text"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")  # OWASP "CSV Injection"
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]#|~])")
_LIST_MARKER = re.compile(r"^(?:[-+](?=\s|$)|-(?=[-\s]*$)|\d{1,9}[.)](?=\s|$))")


def markdown_text(text: str) -> str:
    r"""Escape user text for a Markdown table cell, heading or list item.

    The result renders as the literal text under CommonMark / GFM, with raw HTML on or off:

    - ``&``, ``<`` and ``>`` become HTML entities, so no tag, comment or ``<url>`` autolink
      can form;
    - ``\ ` * _ [ ] # | ~`` are backslash-escaped, so no emphasis, code span, link, image
      (both need ``[``), heading, strikethrough or table column can form;
    - a leading list marker (``-``, ``+``, ``1.``, ``1)`` before a space) or ``---`` is
      escaped, so a list item cannot open a nested list or draw a rule (a leading ``>`` is
      already an entity, so it cannot open a quote); ``-2.5`` stays as it is;
    - line breaks of every kind (CR, LF, CRLF, U+2028 …) fold to one space, and the text is
      stripped, so a value stays on its row.

    Examples
    --------
    >>> print(markdown_text("<img src=x onerror=alert(1)>"))
    &lt;img src=x onerror=alert(1)&gt;
    >>> print(markdown_text("[x](javascript:alert(1)) a|b"))
    \[x\](javascript:alert(1)) a\|b
    >>> print(markdown_text("line1\r\nline2"))
    line1 line2
    >>> print(markdown_text("- 1. **a** -2.5"))
    \- 1. \*\*a\*\* -2.5
    """
    folded = " ".join(str(text).splitlines()).strip()
    escaped = _MARKDOWN_PUNCTUATION.sub(r"\\\1", folded)
    escaped = _LIST_MARKER.sub(lambda m: f"{m[0][:-1]}\\{m[0][-1]}", escaped)
    return html.escape(escaped, quote=False)


def _defuse(value):
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_PREFIXES)
        and not _NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    r"""A copy of ``frame`` in which no text cell can start a spreadsheet formula.

    Following OWASP's advice on CSV injection, a text cell (in an object, string or
    categorical column, and every column name) that starts with ``=``, ``+``, ``-``, ``@``,
    a tab or a carriage return gets a leading ``'``, so that a spreadsheet (Excel, WPS,
    LibreOffice) opening the CSV takes it as text, not a formula. A cell that is a plain number (``-5``, ``+86``, ``-1.5e3``) is
    left as it is, and numeric columns are untouched. Reading the CSV back gives the
    prefixed text: the prefix is part of the value. Only CSV needs this; Parquet and GeoJSON
    keep the raw value.

    Examples
    --------
    >>> table = pd.DataFrame({"name": ["=1+1", "@SUM(1)", "-2+3", "-5", "ok"],
    ...                       "value": [-1, 2, 3, 4, 5]})
    >>> csv_safe(table).to_dict("list")
    {'name': ["'=1+1", "'@SUM(1)", "'-2+3", '-5', 'ok'], 'value': [-1, 2, 3, 4, 5]}
    """
    safe = frame.copy()
    for position, dtype in enumerate(frame.dtypes):
        if (
            pd.api.types.is_object_dtype(dtype)
            or pd.api.types.is_string_dtype(dtype)
            or isinstance(dtype, pd.CategoricalDtype)
        ):
            safe.isetitem(position, frame.iloc[:, position].map(_defuse, na_action="ignore"))
    safe.columns = [_defuse(name) for name in frame.columns]
    return safe
