#!/bin/sh
# Install Pianola for this user (no root needed): the app into ~/.local/lib/pianola,
# the commands `pianola` and `pianola-cli` into ~/.local/bin, and a menu entry with
# icon (Pianola appears in the applications menu and under "Open with" for MIDI files).
#
#   ./install.sh              install or upgrade (the previous version is replaced)
#   PIANOLA_INSTALL_DIR=...   where the app folder goes (default ~/.local/lib/pianola)
#   PIANOLA_BIN_DIR=...       where the commands go (default ~/.local/bin)
#
# Your trained models, runs and settings live elsewhere (~/.local/share/pianola,
# ~/.config/Pianola, ~/.config/pianola) and are never touched by install or uninstall.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
DATA_HOME=${XDG_DATA_HOME:-$HOME/.local/share}
INSTALL_DIR=${PIANOLA_INSTALL_DIR:-$HOME/.local/lib/pianola}
BIN_DIR=${PIANOLA_BIN_DIR:-$HOME/.local/bin}
APPS_DIR=$DATA_HOME/applications
ICON_DIR=$DATA_HOME/icons/hicolor/256x256/apps
MANIFEST=$INSTALL_DIR/install-manifest.txt

if [ ! -x "$HERE/app/pianola" ]; then
    echo "install: $HERE/app/pianola is missing; run install.sh from the unpacked archive" >&2
    exit 1
fi

echo "Installing Pianola $(cat "$HERE/VERSION") into $INSTALL_DIR"
mkdir -p "$INSTALL_DIR" "$BIN_DIR" "$APPS_DIR" "$ICON_DIR"
# Copy next to the old version, then swap: an interrupted install leaves a working one.
rm -rf "$INSTALL_DIR/app.new"
cp -a "$HERE/app" "$INSTALL_DIR/app.new"
rm -rf "$INSTALL_DIR/app.old"
[ -d "$INSTALL_DIR/app" ] && mv "$INSTALL_DIR/app" "$INSTALL_DIR/app.old"
mv "$INSTALL_DIR/app.new" "$INSTALL_DIR/app"
rm -rf "$INSTALL_DIR/app.old"
cp "$HERE/VERSION" "$HERE/uninstall.sh" "$INSTALL_DIR/"

for name in pianola pianola-cli; do
    cat >"$BIN_DIR/$name" <<EOF
#!/bin/sh
# Pianola launcher (written by install.sh)
exec "$INSTALL_DIR/app/$name" "\$@"
EOF
    chmod 755 "$BIN_DIR/$name"
done

cp "$HERE/pianola.png" "$ICON_DIR/pianola.png"
sed -e "s|^Exec=.*|Exec=\"$INSTALL_DIR/app/pianola\" %f|" \
    -e "s|^TryExec=.*|TryExec=$INSTALL_DIR/app/pianola|" \
    "$HERE/pianola.desktop" >"$APPS_DIR/pianola.desktop"
chmod 644 "$APPS_DIR/pianola.desktop"

cat >"$MANIFEST" <<EOF
$BIN_DIR/pianola
$BIN_DIR/pianola-cli
$APPS_DIR/pianola.desktop
$ICON_DIR/pianola.png
EOF

# Refresh the menu and icon caches where the tools exist (desktops also notice by themselves).
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$APPS_DIR" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$DATA_HOME/icons/hicolor" 2>/dev/null || true

echo "Installed. Start Pianola from the applications menu, or run: pianola"
case ":$PATH:" in
    *":$BIN_DIR:"*) ;;
    *) echo "Note: $BIN_DIR is not on your PATH; add it, e.g. in ~/.profile: export PATH=\"$BIN_DIR:\$PATH\"" ;;
esac
echo "To remove it later: $INSTALL_DIR/uninstall.sh"
