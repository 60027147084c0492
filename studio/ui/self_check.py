"""``pianola --self-check OUT.mid``: prove a build works end to end, then exit.

The packaged app is checked on machines without a display (``QT_QPA_PLATFORM=offscreen``)
by running exactly what a composer's first minute does: the main window with its panels
opens, the bundled icons render (Qt's SVG plugin made it into the bundle), PortAudio
loads, the bundled model loads, two bars are generated into the document as one undo
step, and the song is written as MIDI and read back. Each stage prints one line with
the seconds since launch (``PIANOLA_LAUNCH_T``, epoch seconds set by the caller, or
since this module started), so the smoke test reports cold start times.

Exit status 0 when every stage passed; 1 with ``self-check FAILED at <stage>: <reason>``
on stderr otherwise.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path

BARS = 2

_T0 = time.time()


class SelfCheckError(Exception):
    """A stage of the self-check found the build broken (the message says how)."""


def _launch_time() -> float:
    try:
        return float(os.environ["PIANOLA_LAUNCH_T"])
    except (KeyError, ValueError):
        return _T0


def _report(stage: str, detail: str = "") -> None:
    elapsed = time.time() - _launch_time()
    print(f"self-check: {stage:<14} {elapsed:7.2f}s  {detail}".rstrip(), flush=True)


def run_self_check(out_path: str | os.PathLike[str]) -> int:
    """Run every stage; 0 on success, 1 (with a one-line reason on stderr) on failure."""
    stage = "start"
    try:
        stage = "window"
        app, window = _open_window()
        _report("window shown", f"{window.width()}x{window.height()}, {_frozen_label()}")

        stage = "icons"
        _check_icons()
        stage = "audio"
        _report("audio", _check_audio())

        stage = "model"
        from studio.ml import generation

        model = generation.load_model("default")
        _report("model loaded", Path(model.path).name)

        stage = "generate"
        request = generation.GenerationRequest("generate", bars=BARS, variations=1, seed=0)
        songs = [s for r in generation.run(request, model=model, drafts=False) for s in r.songs]
        notes = sum(len(track.notes) for track in songs[0].tracks)
        before = len(window.document.song.tracks)
        window.document.insert_tracks(list(songs[0].tracks), "Self-check: generated bars")
        app.processEvents()
        if len(window.document.song.tracks) != before + len(songs[0].tracks):
            raise SelfCheckError("generated tracks did not reach the document")
        _report("generated", f"{BARS} bars, {len(songs[0].tracks)} tracks, {notes} notes")

        stage = "write midi"
        _write_and_verify(window.document.song, Path(out_path))
        _report("midi written", str(out_path))

        stage = "close"
        window.document.undo_stack.setClean()  # nothing to save: no "unsaved changes" prompt
        window.close()
        app.processEvents()
        _report("done")
        return 0
    except Exception as exc:  # report any failure as one line; the traceback helps the builder
        traceback.print_exc()
        print(f"self-check FAILED at {stage}: {exc}", file=sys.stderr, flush=True)
        return 1


def _open_window():  # -> (QApplication, MainWindow)
    from studio.ui.app import create_application, create_main_window

    app = create_application([])
    _isolate_settings()
    window = create_main_window()  # exactly as the app: audio, panels (pyqtgraph, the engine)
    window.show()
    app.processEvents()
    if not window.isVisible():
        raise SelfCheckError("the main window did not show")
    return app, window


def _isolate_settings() -> None:
    """Keep the composer's window layout and recent files untouched by the check."""
    import tempfile

    from PySide6.QtCore import QSettings

    folder = tempfile.mkdtemp(prefix="pianola-self-check-")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, folder)


def _check_icons() -> None:
    from studio.ui.icons import icon

    if icon("pianola").pixmap(32, 32).isNull():
        raise SelfCheckError(
            "the app icon does not render: resources/icons missing or Qt's SVG plugin "
            "(imageformats/libqsvg) not bundled"
        )


def _check_audio() -> str:
    from studio.audio.stream import scan_devices

    scan = scan_devices()
    # No output device is fine (a server, CI); PortAudio missing from the bundle is not.
    if "PortAudio library is not installed" in scan.reason:
        raise SelfCheckError(scan.reason)
    return f"PortAudio loaded, {len(scan.devices)} output device(s)"


def _write_and_verify(song, path: Path) -> None:
    from studio.core.midi_io import load_midi, save_midi

    path.parent.mkdir(parents=True, exist_ok=True)
    save_midi(song, path)
    loaded = load_midi(path)
    written = sum(len(track.notes) for track in loaded.tracks)
    expected = sum(len(track.notes) for track in song.tracks)
    if written != expected:
        raise SelfCheckError(f"{path} holds {written} notes, the song has {expected}")


def _frozen_label() -> str:
    from studio.paths import is_frozen

    return "frozen" if is_frozen() else "from source"


def run_from_argv(argv: list[str]) -> int:
    """``[..., "--self-check", OUT.mid, ...]`` -> run the check; 2 if OUT is missing."""
    index = argv.index("--self-check")
    if index + 1 >= len(argv) or argv[index + 1].startswith("-"):
        print("usage: pianola --self-check OUT.mid", file=sys.stderr)
        return 2
    return run_self_check(argv[index + 1])
