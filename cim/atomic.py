"""Atomic output: write to a temporary sibling, then rename, so nothing is half-written.

A folder cannot be replaced in one rename on POSIX, so :func:`atomic_dir` sets the old copy
aside as ``.NAME.old``, renames the new one into place, then removes the old one. Saves and
reads of folders beside each other are serialised by a lock on their parent folder, so a
reader never sees the moment between the two renames; a save killed there is repaired by the
next save or read (:func:`reading_dir`), which puts ``.NAME.old`` back, and the next save
removes the ``.NAME.<hex>.tmp`` folders that killed saves left behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; saves and reads are not serialised
    fcntl = None

__all__ = ["atomic_dir", "atomic_path", "reading_dir", "remove_leftovers", "write_text"]


@contextlib.contextmanager
def atomic_path(path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "report.md"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("# report")
    >>> target.read_text()
    '# report'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def remove_leftovers(path) -> list[Path]:
    """Remove the temporary files that :func:`atomic_path` saves of ``path`` killed mid-write left.

    A process killed (``SIGKILL``, a dead Dask worker) cannot clean up after itself; call
    this once no other save of ``path`` is running. Returns the files removed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "part.parquet"
    >>> _ = (target.parent / f".part.{'0' * 32}.tmp.parquet").write_bytes(b"half")
    >>> [p.name for p in remove_leftovers(target)]
    ['.part.00000000000000000000000000000000.tmp.parquet']
    """
    path = Path(path)
    ours = re.compile(rf"\.{re.escape(path.stem)}\.[0-9a-f]{{32}}\.tmp{re.escape(path.suffix)}")
    if not path.parent.is_dir():
        return []
    removed = [p for p in path.parent.iterdir() if ours.fullmatch(p.name) and p.is_file()]
    for orphan in removed:
        orphan.unlink(missing_ok=True)
    return removed


def write_text(path, text: str) -> Path:
    """Write UTF-8 text atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def _set_aside(path: Path) -> Path:
    return path.with_name(f".{path.name}.old")


@contextlib.contextmanager
def _locked(path: Path, *, exclusive: bool) -> Iterator[None]:
    """Hold the lock on ``path``'s parent folder (shared for reading, exclusive for saving)."""
    if fcntl is None or not path.parent.is_dir():
        yield
        return
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):  # some network mounts cannot lock: go on unlocked
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def _repair(path: Path) -> None:
    """Finish what a killed save left: restore or drop ``.NAME.old``, remove its temp folders.

    The caller holds the exclusive lock, so no other save is running.
    """
    old = _set_aside(path)
    if old.is_dir():
        if path.exists():
            shutil.rmtree(old)
        else:
            os.replace(old, path)
    ours = re.compile(rf"\.{re.escape(path.name)}\.[0-9a-f]{{32}}\.tmp")
    for orphan in path.parent.iterdir():
        if ours.fullmatch(orphan.name) and orphan.is_dir() and not orphan.is_symlink():
            shutil.rmtree(orphan)


@contextlib.contextmanager
def atomic_dir(path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it takes the place of ``path``.

    On failure ``path`` is left as it was. What an earlier, killed save left behind is
    repaired first (see the module's description).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "model"
    >>> with atomic_dir(target) as tmp:
    ...     _ = (tmp / "a.txt").write_text("a")
    >>> [p.name for p in target.iterdir()]
    ['a.txt']
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    old = _set_aside(path)
    with _locked(path, exclusive=True):
        _repair(path)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        tmp.mkdir()
        try:
            yield tmp
            if path.exists():
                os.replace(path, old)
            os.replace(tmp, path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def reading_dir(path) -> Iterator[Path]:
    """Hold a folder written by :func:`atomic_dir` steady while it is read.

    Waits for a save in progress to finish, and first puts back the copy that a save killed
    between its two renames set aside.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "model"
    >>> with atomic_dir(target) as tmp:
    ...     _ = (tmp / "a.txt").write_text("a")
    >>> _ = target.rename(target.with_name(".model.old"))  # as a save killed midway leaves it
    >>> with reading_dir(target):
    ...     (target / "a.txt").read_text()
    'a'
    """
    path = Path(path)
    if not path.exists() and _set_aside(path).is_dir():
        with _locked(path, exclusive=True):
            _repair(path)
    with _locked(path, exclusive=False):
        yield path
