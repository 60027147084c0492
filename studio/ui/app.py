"""Start the desktop app: ``run_app(["song.mid"])`` opens a window (and the file)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QApplication

from studio.ui.icons import icon
from studio.ui.style import apply_dark_style

if TYPE_CHECKING:
    from studio.ui.main_window import MainWindow


def create_application(argv: list[str]) -> QApplication:
    """The QApplication with Pianola's names, icon and dark style (reused if it exists)."""
    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "pianola", *argv])
    app.setOrganizationName("Pianola")
    app.setApplicationName("Pianola")
    app.setApplicationDisplayName("Pianola")
    app.setWindowIcon(icon("pianola"))
    apply_dark_style(app)
    return app


def create_main_window(**parts: Any) -> MainWindow:
    """The app's window with every part: editor, audio transport, Training and Generation
    (``parts`` override WindowParts fields, e.g. a test's audio backend)."""
    from studio.ui.layout import apply_default_layout
    from studio.ui.main_window import MainWindow, WindowParts  # after the QApplication exists

    window = MainWindow(parts=WindowParts.workstation(**parts))
    # The roll is where composers spend their time: the docks get what is left (unless
    # the composer's own layout was restored).
    apply_default_layout(window)
    return window


def run_app(argv: list[str]) -> int:
    """Show the main window, open FILE (a .mid or .pianola) if given, and run the loop."""
    if "--self-check" in argv:  # `pianola --self-check OUT.mid`: packaged-build smoke test
        from studio.ui.self_check import run_from_argv

        return run_from_argv(argv)
    app = create_application(argv)
    from studio.ui.log_viewer import install_gui_logging
    from studio.ui.recovery import start_recovery

    install_gui_logging()  # the log file, Qt's messages, uncaught exceptions
    window = create_main_window()
    window.show()
    restored = start_recovery(window)  # autosave; offer what a crash left behind
    files = [arg for arg in argv if not arg.startswith("-")]
    if files and not restored:
        window.open_path(files[0])
    return app.exec()
