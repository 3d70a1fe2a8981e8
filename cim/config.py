"""The toolkit's configuration files (indicator registries, event classes): plain YAML data.

:func:`read_entries` reads a YAML file with PyYAML's safe loader, which refuses every tag it
does not know (``!!python/object/apply:…`` and the like), and builds one dataclass per entry
of a top-level list. Every problem is a one-line :class:`layers.InputError` that names the
file, the line or the entry, and the fix. :func:`check_fields` and :func:`check_types` hold
values to the types their dataclass fields or parameters declare.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import reprlib
import types
import typing
from collections.abc import Mapping
from pathlib import Path

import yaml

import layers

__all__ = ["check_fields", "check_types", "read_entries"]

T = typing.TypeVar("T")
_NAMES = {
    str: "text",
    float: "a number",
    int: "a whole number",
    bool: "true or false",
    dict: "a mapping",
    type(None): "left out",
}


class _Loader(yaml.SafeLoader):
    """The safe loader, refusing unknown tags and a key given twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        self.flatten_mapping(node)  # merge keys (<<) first, as the safe loader does
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class _TagError(yaml.constructor.ConstructorError):
    """A tag the safe loader does not know (``!!python/…``)."""


def _refuse_tag(loader: _Loader, node: yaml.Node) -> None:
    tag = node.tag.replace("tag:yaml.org,2002:", "!!")
    raise _TagError(None, None, f"the tag {tag} is not allowed", node.start_mark)


_Loader.add_constructor(None, _refuse_tag)


def read_entries(
    path,
    cls: type[T],
    *,
    key: str,
    what: str,
    name: str,
    error: type[layers.InputError] = layers.InputError,
) -> list[T]:
    """One ``cls`` per entry of the list under ``key`` in the YAML file ``path``.

    Each entry is a mapping of ``cls``'s fields; lists become tuples where the field is one.
    Errors raised by ``cls`` itself get the file's name in front.

    Parameters
    ----------
    path : path-like
        The YAML file (UTF-8).
    cls : dataclass
        Built from each entry; its ``__post_init__`` checks the values.
    key : str
        The top-level key holding the list.
    what : str
        What an entry is, in messages (``"indicator"``).
    name : str
        The field that names an entry in messages (``"id"``).
    error : subclass of layers.InputError
        Raised for every problem.

    Examples
    --------
    >>> import tempfile
    >>> @dataclasses.dataclass(frozen=True)
    ... class Colour:
    ...     name: str
    ...     rgb: tuple[int, ...] = ()
    >>> path = Path(tempfile.mkdtemp()) / "colours.yaml"
    >>> _ = path.write_text("colours:\\n  - {name: red, rgb: [255, 0, 0]}\\n", encoding="utf-8")
    >>> read_entries(path, Colour, key="colours", what="colour", name="name")
    [Colour(name='red', rgb=(255, 0, 0))]
    >>> _ = path.write_text("colours: !!python/object/apply:os.system [ls]\\n", encoding="utf-8")
    >>> read_entries(path, Colour, key="colours", what="colour", name="name")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    layers.errors.InputError: ...colours.yaml, line 1, column 10: the tag !!python/object/apply:os.system is not allowed; ...
    """
    source = str(path)
    data = _load_yaml(Path(path), error)
    entries = data.get(key) if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise error(f"{path}: needs a non-empty top-level '{key}:' list", source=source)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    out = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise error(
                f"{path}: {what} #{number} is {reprlib.repr(entry)}, not a mapping; write each "
                f"{what} as '- {{{name}: …, field: value, …}}'",
                source=source,
            )
        label = f"{path}: {what} {reprlib.repr(entry.get(name, f'#{number}'))}"
        unknown = [k for k in entry if k not in fields]
        if unknown:
            raise error(
                f"{label}: unknown field {unknown[0]!r}; fields are {', '.join(sorted(fields))}",
                source=source,
            )
        missing = [
            f
            for f, spec in fields.items()
            if f not in entry
            and spec.default is dataclasses.MISSING
            and spec.default_factory is dataclasses.MISSING
        ]
        if missing:
            raise error(f"{label}: missing field {missing[0]!r}", source=source)
        values = {
            k: tuple(v) if isinstance(v, list) and typing.get_origin(hints[k]) is tuple else v
            for k, v in entry.items()
        }
        try:
            out.append(cls(**values))
        except layers.InputError as err:
            raise error(f"{path}: {err}", source=source) from None
    return out


def _load_yaml(path: Path, error: type[layers.InputError]):
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise error(
            f"{path}: not UTF-8 text (byte {err.start}); save it as UTF-8", source=str(path)
        ) from None
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader: plain data only
    except RecursionError:
        raise error(
            f"{path}: lists nested too deeply to read; flatten them", source=str(path)
        ) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        context = getattr(err, "context", None)
        fix = (
            "remove it: the file holds plain data (text, numbers, lists, mappings)"
            if isinstance(err, _TagError)
            else "fix the YAML there"
        )
        detail = " ".join(f"{problem} ({context})".split() if context else problem.split())
        raise error(f"{path}{at}: {detail}; {fix}", source=str(path)) from None


def check_fields(instance, *, label: str, error: type[layers.InputError]) -> None:
    """Refuse a dataclass ``instance`` whose field values do not have their declared types.

    Examples
    --------
    >>> @dataclasses.dataclass
    ... class Limit:
    ...     minutes: float
    >>> check_fields(Limit("ten"), label="limit", error=layers.InputError)
    Traceback (most recent call last):
    ...
    layers.errors.InputError: limit: minutes must be a number, not 'ten'
    """
    values = {f.name: getattr(instance, f.name) for f in dataclasses.fields(instance)}
    check_types(values, typing.get_type_hints(type(instance)), label=label, error=error)


def check_types(
    values: Mapping[str, object],
    hints: Mapping[str, object],
    *,
    label: str,
    error: type[layers.InputError],
) -> None:
    """Refuse a value whose type is not the hint of its name: text, a finite number, a whole
    number, true / false, a mapping, ``None``, a list of these (``tuple[str, ...]``), or a union.

    Examples
    --------
    >>> check_types({"code": 401}, {"code": str}, label="class", error=layers.InputError)
    Traceback (most recent call last):
    ...
    layers.errors.InputError: class: code must be text, not 401; put it in quotes
    """
    for name, value in values.items():
        if name in hints and not _fits(value, hints[name]):
            quote = (
                "; put it in quotes"
                if _fits("", hints[name]) and isinstance(value, int | float | datetime.date)
                else ""
            )
            raise error(
                f"{label}: {name} must be {_describe(hints[name])}, not {reprlib.repr(value)}{quote}"
            )


def _is_union(hint) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _fits(value, hint) -> bool:
    if _is_union(hint):
        return any(_fits(value, arg) for arg in typing.get_args(hint))
    if typing.get_origin(hint) is tuple:
        item = typing.get_args(hint)[0]
        return isinstance(value, list | tuple) and all(_fits(v, item) for v in value)
    if hint is float:
        return (
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        )
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is type(None):
        return value is None
    return isinstance(value, typing.get_origin(hint) or hint)


def _describe(hint) -> str:
    if _is_union(hint):
        return " or ".join(_describe(arg) for arg in typing.get_args(hint))
    if typing.get_origin(hint) is tuple:
        return f"a list of {_describe(typing.get_args(hint)[0])}"
    return _NAMES.get(typing.get_origin(hint) or hint, str(hint))
