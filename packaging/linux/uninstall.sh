#!/bin/sh
# Remove what install.sh put in place: the app folder, the two commands, the menu entry
# and the icon. Your models, training runs and settings (~/.local/share/pianola,
# ~/.config/Pianola, ~/.config/pianola) are kept; delete those yourself if you want them gone.
#
#   uninstall.sh              (in the unpacked archive or in ~/.local/lib/pianola)
#   PIANOLA_INSTALL_DIR=...   if you installed somewhere else
set -eu
INSTALL_DIR=${PIANOLA_INSTALL_DIR:-$HOME/.local/lib/pianola}
MANIFEST=$INSTALL_DIR/install-manifest.txt

if [ ! -f "$MANIFEST" ]; then
    echo "uninstall: Pianola is not installed in $INSTALL_DIR (no install-manifest.txt)" >&2
    exit 1
fi
while IFS= read -r path; do
    [ -n "$path" ] && rm -f "$path"
done <"$MANIFEST"
rm -rf "$INSTALL_DIR/app" "$INSTALL_DIR/app.new" "$INSTALL_DIR/app.old"
rm -f "$MANIFEST" "$INSTALL_DIR/VERSION" "$INSTALL_DIR/uninstall.sh"
rmdir "$INSTALL_DIR" 2>/dev/null || true

DATA_HOME=${XDG_DATA_HOME:-$HOME/.local/share}
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$DATA_HOME/applications" || true
echo "Pianola removed. Your models and settings are kept ($DATA_HOME/pianola, ~/.config/Pianola, ~/.config/pianola)."
