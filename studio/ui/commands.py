"""One registry for every user command: id, title, menu, keys and callback, declared once.

As in napari's app-model and Frescobaldi's action collections, a command is a record; the
registry turns each into one QAction, binds its keys window-wide, places it in its menu by
section (never by looking up another action's name) and feeds Help ▸ Keyboard Shortcuts.
Callbacks take the document and a context object (the window, the editor, the transport's
command object), never a menu or a button.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QWidget

from studio.ui.document import SongDocument
from studio.ui.icons import icon
from studio.ui.input_filter import install_input_filter

Shortcut = str | QKeySequence.StandardKey

# Top-level menus in menu-bar order; a menu with no command stays hidden.
MENUS: tuple[tuple[str, str], ...] = (
    ("file", "&File"),
    ("edit", "&Edit"),
    ("view", "&View"),
    ("transport", "&Transport"),
    ("tools", "&Tools"),
    ("help", "&Help"),
)
# Submenus a command can name as its menu (their owner adds the command's action to them).
SUBMENU_TITLES: dict[str, str] = {"file/recent": "Open Recent"}
# Sections in menu order; a section not listed here follows the listed ones of its menu.
SECTIONS: dict[str, tuple[str, ...]] = {
    "file": ("new", "open", "recent", "import", "save", "export", "quit"),
    "edit": ("history", "clipboard", "select", "pitch", "time"),
    "view": ("zoom", "fit", "show", "lanes", "panels"),
    "transport": ("play", "record", "loop"),
    "tools": ("tools", "snap", "settings"),
    "help": ("help", "log", "about"),
}


class HasDocument(Protocol):
    @property
    def document(self) -> SongDocument: ...


C = TypeVar("C", bound=HasDocument)


class CommandConflict(ValueError):
    """Two commands share an id or a key sequence."""


def _on_a_keyboard(sequence: QKeySequence) -> bool:
    """True when every key of `sequence` is on an ordinary keyboard (F12 and below)."""
    return all(int(sequence[k].key()) < int(Qt.Key.Key_F13) for k in range(sequence.count()))


@dataclass(frozen=True)
class Command(Generic[C]):
    """One user command. The callback runs as ``callback(context.document, context)``."""

    id: str
    title: str
    menu: str
    callback: Callable[[SongDocument, C], object]
    shortcuts: tuple[Shortcut, ...] = ()
    tip: str = ""
    section: str = ""  # menus put a separator between sections
    checkable: bool = False
    icon: str = ""
    enabled: Callable[[C], bool] | None = None  # re-read when its menu opens and before it runs
    checked: Callable[[C], bool] | None = None

    def key_sequences(self) -> list[QKeySequence]:
        out: list[QKeySequence] = []
        for shortcut in self.shortcuts:
            if isinstance(shortcut, QKeySequence.StandardKey):
                # The platform's list also names keys few keyboards have ("F14, Undo" and
                # "F20, Cut" on X11): bind and show only keys a composer can press.
                candidates = [s for s in QKeySequence.keyBindings(shortcut) if _on_a_keyboard(s)]
            else:
                candidates = [QKeySequence(shortcut)]
            # Platforms differ (Ctrl+Y is already Redo on some): list each key once.
            out.extend(c for c in candidates if c not in out)
        return out

    def shortcut_text(self) -> str:
        return ", ".join(
            s.toString(QKeySequence.SequenceFormat.NativeText) for s in self.key_sequences()
        )

    def menu_title(self) -> str:
        """ "Edit", or "File ▸ Open Recent" for a command inside a submenu ("file/recent")."""
        titles = dict(MENUS) | SUBMENU_TITLES
        parts = self.menu.split("/")
        names = ["/".join(parts[: k + 1]) for k in range(len(parts))]
        return " ▸ ".join(titles.get(name, name).replace("&", "") for name in names)


@dataclass
class _Entry:
    command: Command[Any]
    context: Any
    action: QAction
    order: int


class CommandRegistry(QObject):
    """The commands of one window (or of a bare editor), their QActions and menus.

    ``host`` receives every action, so the keys work wherever focus is inside its window.
    With a ``menu_bar`` the registry builds the menus in ``MENUS`` order and keeps them in
    step with every ``add``.
    """

    def __init__(self, host: QWidget, menu_bar: QMenuBar | None = None) -> None:
        super().__init__(host)
        # Window-wide keys are only fair if fields keep theirs: the app's input filter sees to
        # that (and to a wheel that never changes an unfocused field).
        install_input_filter()
        self._host = host
        self._entries: dict[str, _Entry] = {}
        self._keys: dict[str, str] = {}  # portable key text -> command id
        self._menus: dict[str, QMenu] = {}
        self._submenus: dict[str, QMenu] = {}
        if menu_bar is not None:
            for name, title in MENUS:
                menu = menu_bar.addMenu(title)
                menu.setObjectName(f"menu-{name}")
                menu.aboutToShow.connect(lambda n=name: self._refresh_menu(n))
                menu.menuAction().setVisible(False)
                self._menus[name] = menu

    # -- declaring ---------------------------------------------------------------------------
    def add(self, *commands: Command[C], context: C) -> list[QAction]:
        """Create, bind and place ``commands``; each callback gets ``context``."""
        for command in commands:  # check them all before changing anything
            if command.id in self._entries:
                raise CommandConflict(f"command {command.id!r} is declared twice")
        claimed: dict[str, str] = {}
        for command in commands:
            for sequence in command.key_sequences():
                text = sequence.toString()
                owner = self._keys.get(text) or claimed.get(text)
                if owner is not None:
                    raise CommandConflict(f"{text} is bound to both {owner} and {command.id}")
                claimed[text] = command.id
        created = []
        for command in commands:
            action = self._make_action(command, context)
            self._entries[command.id] = _Entry(command, context, action, len(self._entries))
            created.append(action)
        self._keys.update(claimed)
        for menu in {c.menu for c in commands}:
            self._rebuild_menu(menu)
        return created

    def add_submenu(self, menu: str, section: str, submenu: QMenu) -> None:
        """A menu inside a menu (File ▸ Open Recent), placed at ``section``."""
        self._submenus[f"{menu}/{section}"] = submenu
        self._rebuild_menu(menu)

    # -- reading -----------------------------------------------------------------------------
    def action(self, command_id: str) -> QAction:
        return self._entries[command_id].action

    def command(self, command_id: str) -> Command[Any]:
        return self._entries[command_id].command

    def __contains__(self, command_id: object) -> bool:
        return command_id in self._entries

    def commands(self) -> list[Command[Any]]:
        """Every command, in menu order (the order of Help ▸ Keyboard Shortcuts)."""
        menu_rank = {name: k for k, (name, _) in enumerate(MENUS)}

        def rank(entry: _Entry) -> tuple[int, int, int]:
            top = entry.command.menu.split("/")[0]
            return (menu_rank.get(top, len(MENUS)), *self._place(entry))

        entries = sorted(self._entries.values(), key=rank)
        return [e.command for e in entries]

    def actions_by_id(self) -> dict[str, QAction]:
        return {command_id: entry.action for command_id, entry in self._entries.items()}

    def menu(self, name: str) -> QMenu:
        return self._menus[name]

    # -- state -------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read every command's ``enabled`` and ``checked`` (after a state change)."""
        for entry in self._entries.values():
            self._refresh(entry)

    def trigger(self, command_id: str) -> None:
        """Run a command as its menu item would (tests, other widgets' buttons)."""
        self.action(command_id).trigger()

    # -- internals ---------------------------------------------------------------------------
    def _make_action(self, command: Command[Any], context: Any) -> QAction:
        action = QAction(command.title, self._host)
        action.setObjectName(command.id)
        action.setShortcuts(command.key_sequences())
        # Window-wide: a key works wherever focus is; text fields keep their own keys
        # through the application's input filter (studio.ui.input_filter).
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        tip = command.tip or command.title
        keys = command.shortcut_text()
        action.setToolTip(f"{tip} ({keys})" if keys else tip)
        action.setStatusTip(tip)
        action.setCheckable(command.checkable)
        if command.icon:
            action.setIcon(icon(command.icon))
        action.triggered.connect(lambda _checked=False, c=command, x=context: self._run(c, x))
        self._host.addAction(action)
        self._refresh(_Entry(command, context, action, 0))
        return action

    def _run(self, command: Command[Any], context: Any) -> None:
        entry = self._entries.get(command.id)
        if command.enabled is not None and not command.enabled(context):
            if entry is not None:
                self._refresh(entry)
            return
        command.callback(context.document, context)
        if entry is not None and command.checked is not None:
            self._refresh(entry)

    @staticmethod
    def _refresh(entry: _Entry) -> None:
        command, action = entry.command, entry.action
        if command.enabled is not None:
            action.setEnabled(bool(command.enabled(entry.context)))
        if command.checked is not None:
            action.setChecked(bool(command.checked(entry.context)))

    def _refresh_menu(self, name: str) -> None:
        for entry in self._entries.values():
            if entry.command.menu == name:
                self._refresh(entry)

    def _place(self, entry: _Entry) -> tuple[int, int]:
        top = entry.command.menu.split("/")[0]  # a submenu's commands sit at its section
        return self._section_rank(top, entry.command.section), entry.order

    def _section_rank(self, menu: str, section: str) -> int:
        known = SECTIONS.get(menu, ())
        if section in known:
            return known.index(section)
        later = [
            e.command.section
            for e in sorted(self._entries.values(), key=lambda e: e.order)
            if e.command.menu == menu and e.command.section not in known
        ]
        return len(known) + (later.index(section) if section in later else len(later))

    def _rebuild_menu(self, name: str) -> None:
        menu = self._menus.get(name)
        if menu is None:
            return
        items: list[tuple[tuple[int, int], str, QAction]] = [
            (self._place(e), e.command.section, e.action)
            for e in self._entries.values()
            if e.command.menu == name
        ]
        for key, submenu in self._submenus.items():
            menu_name, section = key.split("/", 1)
            if menu_name == name:
                place = (self._section_rank(name, section), -1)  # before its section's commands
                items.append((place, section, submenu.menuAction()))
        items.sort(key=lambda item: item[0])
        # Not menu.clear(): Qt would delete a submenu's action with it. Take the actions
        # out and drop only the separators this registry made.
        for old in menu.actions():
            menu.removeAction(old)
            if old.isSeparator():
                old.deleteLater()
        current: str | None = None
        for _place, item_section, action in items:
            if current is not None and item_section != current:
                menu.addSeparator()
            current = item_section
            menu.addAction(action)
        menu.menuAction().setVisible(bool(items))
