"""Atomic file writes: a reader never sees a half-written file, a failed write leaves none.

Every user file Pianola writes (MIDI, projects, WAV, checkpoints) goes through here: the
data is written to a temporary file in the destination's own folder (so the final
``os.replace`` is a rename on one file system, which POSIX and Windows make atomic),
flushed to disk with fsync, and only then moved over the destination.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


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
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=folder
    )
    os.close(fd)
    tmp = Path(tmp_name)
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
    _fsync_dir(folder)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode(encoding))
