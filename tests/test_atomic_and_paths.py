"""Atomic writes and resource/user paths."""

from __future__ import annotations

import os
import stat
import sys
import time
from pathlib import Path

import pytest

from studio import paths
from studio.core.atomic import atomic_path, atomic_write_bytes, atomic_write_text


def test_atomic_write_replaces_and_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "song.mid"
    atomic_write_bytes(target, b"one")
    atomic_write_text(target, "twø")
    assert target.read_text(encoding="utf-8") == "twø"
    assert [p.name for p in tmp_path.iterdir()] == ["song.mid"]


def test_atomic_path_keeps_suffix_and_cleans_up_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "take.wav"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(".wav") and tmp != target
        tmp.write_bytes(b"half a file")
        raise RuntimeError("encoder crashed")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["take.wav"]
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"new")
        assert target.read_bytes() == b"old"  # nothing visible until the body succeeds
    assert target.read_bytes() == b"new"


def test_atomic_path_works_when_the_writer_replaces_the_temp_file(tmp_path: Path) -> None:
    # Some writers (e.g. torch.save on a path) create the file anew.
    target = tmp_path / "model.pt"
    with atomic_path(target) as tmp:
        tmp.unlink()
        tmp.write_bytes(b"weights")
    assert target.read_bytes() == b"weights"


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_new_files_honour_umask_and_existing_files_keep_their_mode(tmp_path: Path) -> None:
    target = tmp_path / "a.mid"
    old = os.umask(0o022)
    try:
        atomic_write_bytes(target, b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    target.chmod(0o600)
    atomic_write_bytes(target, b"y")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_missing_folder_raises_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        atomic_write_bytes(tmp_path / "no" / "such" / "dir.mid", b"x")


def test_resource_paths_unfrozen_point_into_the_checkout() -> None:
    root = Path(__file__).resolve().parent.parent
    assert paths.app_root() == root
    assert paths.resource_path("datasets") == root / "resources" / "datasets"
    assert paths.bach_dataset_dir().is_dir()
    assert paths.models_dir() == root / "models"


def test_resource_paths_frozen_use_meipass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert paths.is_frozen()
    assert paths.resource_path("a", "b") == tmp_path / "resources" / "a" / "b"
    assert paths.bach_dataset_dir() == tmp_path / "resources" / "datasets" / "bach_chorales"
    assert paths.models_dir() == tmp_path / "models"


def test_user_dirs_honour_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIANOLA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PIANOLA_CONFIG_DIR", str(tmp_path / "config"))
    assert paths.user_data_dir() == tmp_path / "data" and (tmp_path / "data").is_dir()
    assert paths.user_config_dir() == tmp_path / "config" and (tmp_path / "config").is_dir()


@pytest.mark.skipif(sys.platform != "linux", reason="XDG layout")
def test_user_dirs_default_to_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIANOLA_DATA_DIR", raising=False)
    monkeypatch.delenv("PIANOLA_CONFIG_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "conf"))
    assert paths.user_data_dir() == tmp_path / "share" / "pianola"
    assert paths.user_config_dir() == tmp_path / "conf" / "pianola"


@pytest.mark.skipif(os.name != "posix", reason="symlinks")
def test_writing_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real.mid"
    real.write_bytes(b"old")
    link = tmp_path / "link.mid"
    link.symlink_to(real)
    atomic_write_bytes(link, b"new")
    assert link.is_symlink() and real.read_bytes() == b"new"


# ----------------------------------------------------------------------------- housekeeping
def _dead_pid() -> int:
    import subprocess

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


def test_next_save_removes_temp_files_of_killed_saves_but_not_live_ones(tmp_path: Path) -> None:
    from studio.core.atomic import STALE_AFTER_S
    from studio.core.project import Project, save_project
    from studio.core.song import Song

    killed = tmp_path / f".song.pianola.{_dead_pid()}-abcd1234.tmp.pianola"
    mine_stale = tmp_path / f".other.mid.{os.getpid()}-zz99zz99.tmp.mid"  # an earlier failure
    live = tmp_path / f".song.pianola.{os.getppid()}-efgh5678.tmp.pianola"  # being written now
    old_style = tmp_path / ".song.pianola.q1w2e3r4.tmp.pianola"  # no writer id: age decides
    fresh_old_style = tmp_path / ".other.pianola.t5y6u7i8.tmp.pianola"
    lookalike = tmp_path / ".hidden.tmp"  # not ours: never touched
    for path in (killed, mine_stale, live, old_style, fresh_old_style, lookalike):
        path.write_bytes(b"half")
    long_ago = time.time() - STALE_AFTER_S - 60
    os.utime(old_style, (long_ago, long_ago))
    save_project(Project(Song("x")), tmp_path / "song.pianola")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["song.pianola", live.name, fresh_old_style.name, lookalike.name])


def test_temp_names_carry_the_writer_pid(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "a.mid") as tmp:
        assert tmp.name.startswith(f".a.mid.{os.getpid()}-") and tmp.name.endswith(".tmp.mid")
        from studio.core.atomic import clean_stale_temps

        tmp.write_bytes(b"x")
        assert clean_stale_temps(tmp_path) == []  # in progress in this process: kept


def test_disk_full_message_and_partial_file_removed(tmp_path: Path, monkeypatch) -> None:
    import errno

    from studio.core.atomic import write_error_message

    target = tmp_path / "a.mid"
    target.write_bytes(b"old")

    def full(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OSError) as caught:
        atomic_write_bytes(target, b"new" * 1000)
    monkeypatch.undo()
    assert write_error_message(caught.value, target) == f"disk full while saving {target}"
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["a.mid"]


def test_log_and_recovery_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIANOLA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PIANOLA_RECOVERY_DIR", str(tmp_path / "rec"))
    assert paths.user_log_dir() == tmp_path / "state" and (tmp_path / "state").is_dir()
    assert paths.recovery_dir() == tmp_path / "rec"
    monkeypatch.delenv("PIANOLA_RECOVERY_DIR")
    monkeypatch.setenv("PIANOLA_DATA_DIR", str(tmp_path / "data"))
    assert paths.recovery_dir() == tmp_path / "data" / "recovery"
    if sys.platform == "linux":
        monkeypatch.delenv("PIANOLA_STATE_DIR")
        monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
        assert paths.user_log_dir() == tmp_path / "xdg" / "pianola"
