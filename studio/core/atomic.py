"""Atomic file writes: a reader never sees a half-written file, a failed write leaves none.

Every user file Pianola writes (MIDI, projects, WAV, checkpoints) goes through here: the
data is written to a temporary file in the destination's own folder (so the final
``os.replace`` is a rename on one file system, which POSIX and Windows make atomic),
flushed to disk with fsync, and only then moved over the destination.

A process killed mid-write leaves its temporary file behind (``.song.pianola.<pid>-xxxx
.tmp.pianola``). The temporary name carries the writer's process id, so the next save to
that folder (or `clean_stale_temps` at a run's start) deletes the ones whose writer is
gone, and never a file another live process is still writing.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

_CHUNK = 1 << 20
# A temp file with no writer id (older Pianola) or whose writer's liveness cannot be
# checked is stale once it is this old; a live writer has long renamed it by then.
STALE_AFTER_S = 600.0
_TEMP_RE = re.compile(r"^\.(?P<name>.+)\.(?:(?P<pid>\d+)-)?[a-z0-9_]{8}\.tmp(?:\.[^.]*)?$")
# Temp files this process is writing right now (never cleaned by its own next save).
_in_progress: set[str] = set()
_lock = threading.Lock()


def _default_mode(path: Path) -> int:
    """Mode for the new file: keep an existing file's mode, else honour the umask.

    mkstemp creates files 0600; without this a saved song would become private.
    """
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_dir(folder: Path) -> None:
    # Make the rename itself durable. Not possible (nor needed) on Windows.
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``.

    The temporary name keeps the destination's suffix (``.x.tmp.wav``) for writers that
    pick a format from the extension. If the body raises, the temporary file is deleted
    and the destination is left exactly as it was.
    """
    target = Path(path)
    if target.is_symlink():
        # Replace the file the link points to, not the link (it may be a synced folder).
        target = target.resolve()
    folder = target.parent if str(target.parent) else Path(".")
    clean_stale_temps(folder)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.{os.getpid()}-", suffix=f".tmp{target.suffix}", dir=folder
    )
    os.close(fd)
    tmp = Path(tmp_name)
    with _lock:
        _in_progress.add(tmp.name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, _default_mode(target))
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    finally:
        with _lock:
            _in_progress.discard(tmp.name)
    _fsync_dir(folder)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes | bytearray | memoryview) -> None:
    """Write ``data`` to ``path`` atomically.

    Written with ``os.write`` in chunks, so a full disk surfaces as a plain
    ``OSError(ENOSPC)`` (see `write_error_message`) and the partial file is removed.
    """
    view = memoryview(data).cast("B")
    with atomic_path(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC | getattr(os, "O_BINARY", 0))
        try:
            done = 0
            while done < len(view):
                done += os.write(fd, view[done : done + _CHUNK])
        finally:
            os.close(fd)


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode(encoding))


# ---------------------------------------------------------------------------------------
# Housekeeping and messages
# ---------------------------------------------------------------------------------------
def process_alive(pid: int) -> bool | None:
    """True/False where the platform can tell whether process ``pid`` runs, else None."""
    if pid <= 0:
        return False
    if os.name != "posix":
        return None  # os.kill(pid, 0) would terminate the process on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    except OSError:
        return None
    return True


def is_stale_temp(path: Path, now: float | None = None) -> bool:
    """Whether ``path`` is a temp file of an atomic write whose writer is gone."""
    match = _TEMP_RE.match(path.name)
    if match is None:
        return False
    try:
        age = (now if now is not None else time.time()) - path.stat().st_mtime
    except OSError:
        return False
    pid = match.group("pid")
    if pid is None:
        return age > STALE_AFTER_S
    if int(pid) == os.getpid():
        with _lock:
            return path.name not in _in_progress
    alive = process_alive(int(pid))
    if alive is None:
        return age > STALE_AFTER_S
    # A live process of that id long after the write began is a reused id.
    return not alive or age > 24 * 3600


def clean_stale_temps(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete the temp files killed writes left in ``folder``; returns what was deleted."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not entry.name.startswith(".") or ".tmp" not in entry.name:
            continue
        path = Path(entry.path)
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False) and is_stale_temp(path, now):
                path.unlink()
                removed.append(path)
    return removed


_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` (or an error it was raised from) says the disk is full."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _DISK_FULL:
            return True
        if "No space left on device" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def write_error_message(error: BaseException, path: str | os.PathLike[str]) -> str:
    """One sentence for a failed save of ``path``, e.g. "disk full while saving …"."""
    if is_disk_full(error):
        return f"disk full while saving {path}"
    if isinstance(error, PermissionError):
        return f"permission denied while saving {path}"
    if isinstance(error, OSError) and error.errno == errno.EROFS:
        return f"the disk is read-only: cannot save {path}"
    if isinstance(error, OSError) and error.strerror:
        return f"cannot save {path}: {error.strerror}"
    if isinstance(error, UnicodeError):
        return f"cannot save {path}: it contains text that cannot be encoded ({error.reason})"
    text = str(error).strip().splitlines()
    return f"cannot save {path}: {text[0] if text else type(error).__name__}"
