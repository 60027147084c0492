"""Atomic writes and resource/user paths."""

from __future__ import annotations

import os
import stat
import sys
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
