"""The toolkit's errors and warnings: one root each, so callers can catch what is ours.

``InputError`` (and its ``ValueError`` base) is what bad input raises: a file, layer, column
or value that cannot be used, with the fix in the message. The command line turns every
``CimError`` into a one-line message; anything else is a bug and keeps its traceback.

>>> from layers.errors import CimError, InputError
>>> issubclass(InputError, CimError) and issubclass(InputError, ValueError)
True
"""

from __future__ import annotations

__all__ = ["CimError", "CimWarning", "InputError", "MissingError"]


class CimError(Exception):
    """Root of the toolkit's errors."""


class InputError(CimError, ValueError):
    """Input that cannot be used: a file, a layer, a column, a row or a value.

    ``source`` names the file or layer when known.
    """

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.source = source
        super().__init__(message)


class MissingError(InputError, KeyError):
    """A layer, column, indicator or record that the input does not have.

    Also a ``KeyError``, for code that looks things up; its message reads as written.

    >>> str(MissingError("the city has no layer 'roads'"))
    "the city has no layer 'roads'"
    """

    __str__ = Exception.__str__


class CimWarning(UserWarning):
    """Root of the toolkit's warnings: something was assumed or left out, and the result says so."""
