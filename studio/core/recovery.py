"""Crash recovery: autosaved copies of the open songs, found again after a crash.

While the app runs, each open document with unsaved changes is written every so often to
``<recovery folder>/<pid>-<session>-<doc>.pianola`` (an ordinary project file, written
atomically) with a small ``.json`` beside it that says which file it was, its title and
when it was saved. A clean exit, a save, or the composer's "discard" deletes both. So
whatever is in the folder when the app starts, written by a process that no longer runs,
is work that a crash or a kill would otherwise have lost: `RecoveryStore.pending` lists
it, newest first, and `restore` reads it back.

Qt-free: the timer and the prompt live in ``studio.ui.recovery``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from studio.core.atomic import atomic_write_text, clean_stale_temps, process_alive
from studio.core.project import Project, ProjectError, load_project, save_project

FORMAT_NAME = "pianola-recovery"
PROJECT_SUFFIX = ".pianola"
META_SUFFIX = ".json"
_NAME_RE = re.compile(r"^(?P<pid>\d+)-(?P<session>[0-9a-f]{8})-(?P<doc>[A-Za-z0-9_]+)$")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecoveryEntry:
    """One autosaved song left behind by a process that is gone."""

    key: str
    project_path: Path
    source: str | None  # the file the song was opened from or saved to, if any
    title: str
    saved_at: float  # seconds since the epoch
    pid: int

    @property
    def display_name(self) -> str:
        return Path(self.source).name if self.source else (self.title or "Untitled")

    def files(self) -> list[Path]:
        return [self.project_path, self.project_path.with_suffix(META_SUFFIX)]


class RecoveryStore:
    """The recovery folder, seen from one running app (one session)."""

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        if folder is None:
            from studio.paths import recovery_dir

            folder = recovery_dir()
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.pid = os.getpid()
        self.session = uuid.uuid4().hex[:8]
        clean_stale_temps(self.folder)  # autosaves that a kill interrupted

    # -- this session's copies --------------------------------------------------------
    def key_for(self, doc_id: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_]+", doc_id):
            raise ValueError(f"document id must be letters, digits or _, got {doc_id!r}")
        return f"{self.pid}-{self.session}-{doc_id}"

    def path_for(self, doc_id: str) -> Path:
        return self.folder / (self.key_for(doc_id) + PROJECT_SUFFIX)

    def save(self, doc_id: str, project: Project, source: str | None, title: str) -> Path:
        """Write the copy of one document atomically; raises OSError/ProjectError/ValueError."""
        path = self.path_for(doc_id)
        save_project(project, path)
        meta = {
            "format": FORMAT_NAME,
            "version": 1,
            "source": source,
            "title": title,
            "saved_at": time.time(),
            "pid": self.pid,
        }
        # The project is written first: a kill between the two leaves a copy without its
        # note, which `pending` still offers (named by its title, dated by its mtime).
        atomic_write_text(path.with_suffix(META_SUFFIX), json.dumps(meta, ensure_ascii=True))
        return path

    def remove(self, doc_id: str) -> None:
        path = self.path_for(doc_id)
        for file in (path, path.with_suffix(META_SUFFIX)):
            with contextlib.suppress(FileNotFoundError):
                file.unlink()

    def remove_session(self) -> None:
        """Delete every copy this session wrote (a clean exit)."""
        prefix = f"{self.pid}-{self.session}-"
        for file in self.folder.glob(prefix + "*"):
            with contextlib.suppress(OSError):
                file.unlink()

    # -- what earlier sessions left ---------------------------------------------------
    def pending(self) -> list[RecoveryEntry]:
        """Copies left by processes that no longer run, newest first."""
        entries: list[RecoveryEntry] = []
        for project_path in self.folder.glob("*" + PROJECT_SUFFIX):
            match = _NAME_RE.match(project_path.stem)
            if match is None:
                continue
            pid = int(match.group("pid"))
            if pid == self.pid and match.group("session") == self.session:
                continue  # our own
            if pid != self.pid and process_alive(pid):
                continue  # another Pianola that is running now: its copies are its own
            entries.append(self._entry(project_path, pid))
        return sorted(entries, key=lambda e: e.saved_at, reverse=True)

    def _entry(self, project_path: Path, pid: int) -> RecoveryEntry:
        meta: dict[str, object] = {}
        with contextlib.suppress(OSError, ValueError):
            loaded = json.loads(project_path.with_suffix(META_SUFFIX).read_text("utf-8"))
            if isinstance(loaded, dict) and loaded.get("format") == FORMAT_NAME:
                meta = loaded
        try:
            mtime = project_path.stat().st_mtime
        except OSError:
            mtime = 0.0
        source = meta.get("source")
        title = meta.get("title")
        saved_at = meta.get("saved_at")
        return RecoveryEntry(
            key=project_path.stem,
            project_path=project_path,
            source=source if isinstance(source, str) and source else None,
            title=title if isinstance(title, str) else "",
            saved_at=float(saved_at) if isinstance(saved_at, (int, float)) else mtime,
            pid=pid,
        )

    def restore(self, entry: RecoveryEntry) -> Project:
        """The autosaved project (raises ProjectError when the copy is damaged)."""
        return load_project(entry.project_path)

    def discard(self, entry: RecoveryEntry) -> None:
        for file in entry.files():
            with contextlib.suppress(FileNotFoundError):
                file.unlink()


__all__ = ["ProjectError", "RecoveryEntry", "RecoveryStore"]
