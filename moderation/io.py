"""Output that a kill never leaves half-written, and that replaces only what it should.

Every file the package writes whole (the ``parse`` output, the report, summaries, model
configuration) goes through :func:`atomic_output`: a temporary file beside the target, renamed
onto it on success. Only a regular file (or a new path) is replaced that way; a device, FIFO or
socket (``-o /dev/null``, a named pipe) is written directly, since renaming onto it would swap
the device for a plain file under every other program on the machine.

Files a library writes by name (safetensors weights, Parquet parts, ONNX graphs) go through
:func:`atomic_path`, the same rename with the library writing the temporary file; a directory
written whole (a training checkpoint) through :func:`atomic_directory`, which swaps it in.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from moderation.errors import ModerationError


class Discard(Exception):
    """Raised inside an :func:`atomic_output` block: the target stays as it was (its temporary
    file is removed) and the code after the block runs."""


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[TextIO]:
    """Write to ``path`` through a temporary file renamed into place on success.

    ``"-"`` is standard output. If the block raises (or the process is killed), the target is
    left as it was and the temporary file is removed (or, after a kill, left as
    ``.NAME.XXXXXXXX.tmp``; :func:`remove_stale_temporaries` clears those). A new file gets mode
    0o666 less the umask, as from any Unix tool. A symbolic link is followed: the file it points
    to is replaced and the link stays.
    """
    path = os.fspath(path)
    if path == "-":
        with contextlib.suppress(Discard):
            yield sys.stdout
            sys.stdout.flush()
        return
    path = os.path.realpath(path) if os.path.islink(path) else path
    try:
        existing: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        existing = None
    if existing is not None and stat.S_ISDIR(existing.st_mode):
        raise ModerationError(f"{path} is a directory; name a file to write")
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        with contextlib.suppress(Discard), open(path, "w", encoding="utf-8", newline="\n") as handle:
            yield handle
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fd, tmp = _temporary(path)
    try:
        if existing is not None:
            # A replaced file keeps its permission bits (and, where we may, its owner and group),
            # as when an editor saves it: a report someone made readable to a web server stays so.
            with contextlib.suppress(OSError):
                os.fchown(fd, existing.st_uid, existing.st_gid)
            os.fchmod(fd, stat.S_IMODE(existing.st_mode) & 0o777)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except Discard:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary file beside ``path`` for a library that writes by file name; renamed onto
    ``path`` when the block ends, removed if it raises (or, after a kill, left as
    ``.NAME.XXXXXXXX.tmp`` like :func:`atomic_output`'s).

    The file exists, empty, when the block starts. When it ends, the file gets the mode (and,
    where we may, the owner) the target should end with, whatever the library set:
    safetensors makes its files 0600. A symbolic link is followed, as by :func:`atomic_output`.
    """
    path = os.fspath(path)
    path = os.path.realpath(path) if os.path.islink(path) else path
    try:
        existing: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        existing = None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        raise ModerationError(f"{path} is not a regular file; name a file to write")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fd, tmp = _temporary(path)
    os.close(fd)
    try:
        yield Path(tmp)
        if existing is not None:
            with contextlib.suppress(OSError):
                os.chown(tmp, existing.st_uid, existing.st_gid)
        os.chmod(tmp, output_mode(path))
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A new, empty directory beside ``path`` to fill; when the block ends it takes the place
    of ``path`` (and whatever was there is removed), if the block raises it is removed.

    The swap is one step where the system has one (Linux's ``renameat2`` exchange), so a kill
    at any moment leaves ``path`` holding the old contents or the new, whole. Elsewhere the old
    directory is renamed aside just before the new one is renamed in, and removed after.

    What a killed earlier write of ``path`` left beside it is cleared first (a directory is
    written by one run at a time: the one that owns it), and an old directory a kill caught
    renamed aside is put back.
    """
    path = os.path.abspath(os.fspath(path))
    directory, name = os.path.split(path)
    os.makedirs(directory, exist_ok=True)
    _clear_stale_directories(path)
    while True:
        tmp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            os.mkdir(tmp, 0o777)  # the umask decides, as for any new directory
            break
        except FileExistsError:
            continue
    try:
        yield Path(tmp)
        for entry in os.scandir(tmp):  # what the block wrote, on disk before it is swapped in
            if entry.is_file(follow_symlinks=False):
                _fsync(entry.path)
        _fsync(tmp)
        if not os.path.isdir(path):
            os.rename(tmp, path)
        elif _exchange(tmp, path):
            shutil.rmtree(tmp)  # now the old contents
        else:
            aside = f"{tmp}.old"
            os.rename(path, aside)
            os.rename(tmp, path)
            shutil.rmtree(aside)
        _fsync(directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _clear_stale_directories(path: str) -> None:
    directory, name = os.path.split(path)
    pattern = re.compile(rf"\.{re.escape(name)}\.[0-9a-f]{{8}}\.tmp(\.old)?")
    stale = [(entry.path, bool(match.group(1))) for entry in os.scandir(directory)
             if (match := pattern.fullmatch(entry.name)) and entry.is_dir(follow_symlinks=False)]
    for aside, old in stale:
        if old and not os.path.exists(path):
            os.rename(aside, path)
    for leftover, _ in stale:
        shutil.rmtree(leftover, ignore_errors=True)


def _exchange(a: str, b: str) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where the
    system or file system has no such call."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(error, os.strerror(error), b)


def _fsync(path: str) -> None:
    """Flush a file's or directory's contents to disk (best effort: not every system lets a
    directory be opened for this)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _temporary(path: str) -> tuple[int, str]:
    """A new file ``.NAME.XXXXXXXX.tmp`` beside ``path``. Created with 0o666 so the umask (and a
    default ACL) decide its mode; ``tempfile.mkstemp``'s 0o600 made every output private."""
    directory, name = os.path.split(os.path.abspath(path))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue


def remove_stale_temporaries(path: str | os.PathLike[str]) -> list[str]:
    """Remove the temporary files a killed writer left beside ``path`` (they may hold comment
    text) and return their paths. Only names :func:`atomic_output` makes (and the
    ``.NAME.tmp`` of earlier versions), only regular files. A run still writing ``path`` at this
    moment would lose its temporary file, so call this only for outputs of the calling run."""
    path = os.fspath(path)
    if path == "-":
        return []
    directory, name = os.path.split(os.path.abspath(path))
    # mkstemp's names (earlier versions): 8 of [a-z0-9_]; ours: 8 hex digits
    pattern = re.compile(rf"\.{re.escape(name)}(\.[a-z0-9_]{{8}})?\.tmp")
    removed = []
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for entry in os.scandir(directory):
            if pattern.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(entry.path)
    return removed


def output_mode(path: str | os.PathLike[str]) -> int:
    """The permission bits a file written to ``path`` should end with: an existing file's own,
    else 0o666 less the umask. For files another library creates 0o600 (safetensors)."""
    with contextlib.suppress(FileNotFoundError):
        return stat.S_IMODE(os.stat(path).st_mode) & 0o777
    return 0o666 & ~_umask()


def _umask() -> int:
    # /proc tells it without changing it; os.umask can only read it by setting it, which a
    # thread creating a file at that moment would see.
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
