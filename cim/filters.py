"""Row filters from configuration files, in a small language that is never run as Python.

A filter such as ``kind == 'camera' and status != 'offline'`` selects rows of a layer. It is
parsed with :mod:`ast` and evaluated here, comparison by comparison, over the layer's
columns: nothing reaches :meth:`pandas.DataFrame.query` or :func:`eval`, and a name can only
be a column. The grammar (:data:`GRAMMAR`):

- a column by its name (``depth_cm``), or in backticks when it is not a Python name
  (```road class```);
- literals: text in quotes, numbers, ``True``, ``False``, ``None``, and lists of them;
- comparisons ``== != < <= > >=``, chained too (``0 < depth_cm <= 15``); ``in`` and
  ``not in`` a list (``==`` and ``!=`` a list mean the same, as in pandas);
- ``and``, ``or``, ``not``, or ``&``, ``|``, ``~`` as pandas users write them (``&`` and ``|``
  bind like ``and`` and ``or``, as in ``DataFrame.query``), and parentheses.

Missing values behave as in ``DataFrame.query``: they fail every comparison but ``!=``.
``None`` names them: ``depth_cm == None`` selects the rows without a depth, ``!= None`` the
others, and ``None`` in a list matches them (``DataFrame.query`` never matches there).
"""

from __future__ import annotations

import ast
import functools
import operator

import numpy as np
import pandas as pd

import layers

__all__ = [
    "GRAMMAR",
    "FilterError",
    "apply_filter",
    "check_filter",
    "filter_columns",
    "filter_mask",
]

GRAMMAR = (
    "a filter compares columns with literals, e.g. kind == 'camera', depth_cm > 15, "
    "0 < floors <= 5, use in ['a', 'b'], `road class` != None, joined with and / or / not "
    "(or & | ~) and parentheses"
)
MAX_DEPTH = 50
MAX_LENGTH = 1000  # longer ones could nest deep enough to overflow Python's parser
_COMPARISONS = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_LITERALS = (str, int, float, bool, type(None))
_ORDERING = ast.Lt | ast.LtE | ast.Gt | ast.GtE
_SEQUENCE = ast.List | ast.Tuple
_REFUSED = {
    ast.Attribute: "attribute access",
    ast.Call: "a function call",
    ast.Subscript: "indexing",
    ast.BinOp: "arithmetic",
    ast.Lambda: "a lambda",
    ast.JoinedStr: "an f-string",
    ast.IfExp: "a conditional expression",
    ast.NamedExpr: "an assignment",
    ast.Dict: "a mapping",
    ast.Set: "a set",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.Starred: "unpacking",
}


class FilterError(layers.InputError):
    """A filter outside the grammar, or one that does not fit the layer it is applied to."""


def check_filter(where: str) -> None:
    """Refuse ``where`` unless it is a filter of :data:`GRAMMAR`; columns are not checked.

    Raises
    ------
    FilterError
        Naming the filter, the construct that is not allowed, and the grammar.

    Examples
    --------
    >>> check_filter("kind in ['fire_station', 'hospital'] and units > 0")
    >>> check_filter("@frame.to_csv('x.csv') == 0")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cim.filters.FilterError: filter "@frame.to_csv('x.csv') == 0": '@' (a Python variable) is not allowed; a filter compares ...
    """
    _parse(where)


def filter_mask(frame: pd.DataFrame, where: str, *, layer: str | None = None) -> pd.Series:
    """True for each row of ``frame`` that ``where`` selects (see :data:`GRAMMAR`).

    Parameters
    ----------
    frame : DataFrame
        Its columns, except geometry, are the names ``where`` may use.
    where : str
        The filter.
    layer : str, optional
        Named in error messages.

    Raises
    ------
    FilterError
        Outside the grammar, an unknown column (the message lists the columns), or a
        comparison the values do not support.

    Examples
    --------
    >>> frame = pd.DataFrame({"kind": ["fire", "flood", None], "depth_cm": [0, 20, None]})
    >>> filter_mask(frame, "kind != 'fire' & depth_cm > 15").tolist()
    [False, True, False]
    """
    expression, names = _parse(where)
    label = f"filter {where!r}" + (f" on {layer}" if layer else "")
    evaluator = _Evaluator(frame, names, label)
    mask = evaluator.mask(evaluator.value(expression), expression)
    if not isinstance(mask, pd.Series):
        return pd.Series(bool(mask), index=frame.index)
    return mask.fillna(False).astype(bool)  # a missing truth (nullable columns) selects nothing


def filter_columns(where: str) -> tuple[list[str], bool]:
    """The columns ``where`` reads, and whether it names missing values (``None``).

    Examples
    --------
    >>> filter_columns("depth_cm > 15 and `road class` != None")
    (['depth_cm', 'road class'], True)
    """
    expression, names = _parse(where)
    nodes = list(ast.walk(expression))
    columns = [names.get(n.id, n.id) for n in nodes if isinstance(n, ast.Name)]
    return list(dict.fromkeys(columns)), any(_is_none(n) for n in nodes)


def apply_filter(frame: pd.DataFrame, where: str, *, layer: str | None = None) -> pd.DataFrame:
    """The rows of ``frame`` that ``where`` selects; see :func:`filter_mask`.

    Examples
    --------
    >>> frame = pd.DataFrame({"road class": ["primary", "secondary", "service"],
    ...                       "lanes": [4, None, 1]})
    >>> apply_filter(frame, "`road class` != 'service' and lanes == None")
      road class  lanes
    1  secondary    NaN
    """
    return frame[filter_mask(frame, where, layer=layer)]


def _refuse(where: str, what: str, hint: str = "") -> FilterError:
    hint = f"; {hint}" if hint else ""
    return FilterError(f"filter {where!r}: {what} is not allowed{hint}; {GRAMMAR}")


def _parse(where) -> tuple[ast.expr, dict[str, str]]:
    if not isinstance(where, str):
        raise FilterError(f"a filter is text in quotes, not {where!r}; {GRAMMAR}")
    if len(where) > MAX_LENGTH:
        raise FilterError(
            f"filter {where[:40]!r}…: longer than {MAX_LENGTH} characters; shorten it"
        )
    return _parse_text(where)


@functools.lru_cache(maxsize=256)
def _parse_text(where: str) -> tuple[ast.expr, dict[str, str]]:
    """The checked expression of ``where``, and the column each backtick placeholder stands for."""
    source, names = _rewrite(where)
    try:
        expression = ast.parse(source.strip(), mode="eval").body
    except (SyntaxError, ValueError) as err:  # ValueError: a null byte
        raise FilterError(
            f"filter {where!r}: not a valid expression ({getattr(err, 'msg', err)}); {GRAMMAR}"
        ) from None
    _check(expression, where)
    return expression, names


def _rewrite(where: str) -> tuple[str, dict[str, str]]:
    """``where`` as Python source: backticked names as placeholders, ``&`` ``|`` as and / or.

    Characters inside quotes stay as they are; ``@`` (pandas' local variables) is refused.
    """
    prefix = "_column"
    while prefix in where:
        prefix += "_"
    out: list[str] = []
    names: dict[str, str] = {}
    quote = None
    i = 0
    while i < len(where):
        char = where[i]
        if quote:
            if char == "\\":  # an escaped character, the quote too
                out.append(where[i : i + 2])
                i += 1
            else:
                out.append(char)
                quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
            out.append(char)
        elif char == "`":
            end = where.find("`", i + 1)
            if end < 0:
                raise FilterError(f"filter {where!r}: a backtick is not closed; {GRAMMAR}")
            placeholder = f"{prefix}{len(names)}"
            names[placeholder] = where[i + 1 : end]
            out.append(f" {placeholder} ")
            i = end
        elif char == "@":
            raise _refuse(where, "'@' (a Python variable)")
        else:
            out.append({"&": " and ", "|": " or "}.get(char, " " if char.isspace() else char))
        i += 1
    return "".join(out), names


def _is_literal(node: ast.expr) -> bool:
    """A constant of the grammar: text, a number (signed too), True, False or None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        node = node.operand
        return isinstance(node, ast.Constant) and type(node.value) in (int, float)
    return isinstance(node, ast.Constant) and type(node.value) in _LITERALS


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _check(node: ast.expr, where: str, depth: int = 0) -> None:
    """Refuse anything in ``node`` outside the grammar."""
    if depth > MAX_DEPTH:
        raise _refuse(where, f"nesting deeper than {MAX_DEPTH} levels")
    if isinstance(node, ast.BoolOp) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.Invert)
    ):
        for child in node.values if isinstance(node, ast.BoolOp) else [node.operand]:
            _check(child, where, depth + 1)
    elif isinstance(node, ast.Compare):
        operands = [node.left, *node.comparators]
        for op, left, right in zip(node.ops, operands[:-1], operands[1:], strict=True):
            _check_comparison(op, left, right, where)
        for operand in operands:
            if not isinstance(operand, _SEQUENCE):
                _check(operand, where, depth + 1)
    elif not (isinstance(node, ast.Name) or _is_literal(node)):
        what = _REFUSED.get(type(node), type(node).__name__)
        if isinstance(node, ast.Constant | ast.UnaryOp):
            what = "a literal other than text, a number, True, False or None"
        elif isinstance(node, _SEQUENCE):
            what = "a list outside a comparison"
        raise _refuse(where, f"{what} ({ast.unparse(node)[:60]})")


def _check_comparison(op: ast.cmpop, left: ast.expr, right: ast.expr, where: str) -> None:
    text = ast.unparse(ast.Compare(left, [op], [right]))[:60]
    lists = [side for side in (left, right) if isinstance(side, _SEQUENCE)]
    if isinstance(op, ast.Is | ast.IsNot):
        raise _refuse(where, f"'is' ({text})", "write == None or != None")
    if isinstance(op, ast.In | ast.NotIn) and not isinstance(right, _SEQUENCE):
        raise _refuse(where, f"'in' without a list on its right ({text})")
    if isinstance(op, _ORDERING) and (lists or _is_none(left) or _is_none(right)):
        raise _refuse(where, f"ordering a list or None ({text})")
    if len(lists) == 2 or (isinstance(left, _SEQUENCE) and isinstance(op, ast.In | ast.NotIn)):
        raise _refuse(where, f"a list on both sides or before 'in' ({text})")
    for side in lists:
        for item in side.elts:
            if not _is_literal(item):
                raise _refuse(where, f"{ast.unparse(item)[:60]} in a list", "a list holds literals")


class _Evaluator:
    """Values of a checked filter's nodes over the columns of one frame."""

    def __init__(self, frame: pd.DataFrame, names: dict[str, str], label: str) -> None:
        self.frame = frame
        self.names = names
        self.label = label
        self.columns = [c for c, dtype in frame.dtypes.items() if str(dtype) != "geometry"]

    def value(self, node: ast.expr):
        if isinstance(node, ast.BoolOp):
            join = operator.and_ if isinstance(node.op, ast.And) else operator.or_
            return functools.reduce(join, (self.mask(self.value(v), v) for v in node.values))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.Invert):
            inner = self.mask(self.value(node.operand), node.operand)
            return ~inner if isinstance(inner, pd.Series) else not inner
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            parts = (
                self.compare(op, left, right)
                for op, left, right in zip(node.ops, operands[:-1], operands[1:], strict=True)
            )
            return functools.reduce(operator.and_, parts)
        if isinstance(node, ast.Name):
            name = self.names.get(node.id, node.id)
            if name not in self.columns:
                raise FilterError(
                    f"{self.label}: no column {name!r}; columns are "
                    f"{', '.join(map(str, self.columns))}"
                )
            return self.frame[name]
        if isinstance(node, _SEQUENCE):
            return [ast.literal_eval(item) for item in node.elts]
        return ast.literal_eval(node)

    def compare(self, op: ast.cmpop, left: ast.expr, right: ast.expr):
        """One comparison; against ``None`` or a list it is membership (None: missing)."""
        if isinstance(left, _SEQUENCE) or _is_none(left):
            left, right = right, left
        if isinstance(right, _SEQUENCE) or _is_none(right):
            items = self.value(right) if isinstance(right, _SEQUENCE) else [None]
            return _isin(self.value(left), items) ^ isinstance(op, ast.NotEq | ast.NotIn)
        try:
            return _COMPARISONS[type(op)](self.value(left), self.value(right))
        except TypeError as err:
            raise FilterError(
                f"{self.label}: cannot compare {ast.unparse(ast.Compare(left, [op], [right]))}: "
                f"{err}; compare numbers with numbers and text with text"
            ) from None

    def mask(self, value, node: ast.expr):
        """``value`` itself if it is true / false (per row or a single one), else an error."""
        if isinstance(value, bool | np.bool_) or (
            isinstance(value, pd.Series) and pd.api.types.is_bool_dtype(value.dtype)
        ):
            return value
        raise FilterError(
            f"{self.label}: {ast.unparse(node)[:60]} is not true or false per row; compare it, "
            f"e.g. {ast.unparse(node)[:30]} == 'text'"
        )


def _isin(values, items: list):
    """Membership in ``items``, where a ``None`` among them matches missing values."""
    if not isinstance(values, pd.Series):
        return values in items
    present = [item for item in items if item is not None]
    hit = values.isin(present)
    return hit | values.isna() if len(present) < len(items) else hit
