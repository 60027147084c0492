#!/usr/bin/env bash
# Pack the built bundle as dist/pianola-<version>-linux-<arch>.tar.gz:
#
#   pianola-<version>-linux-<arch>/
#     app/               the PyInstaller folder (pianola, pianola-cli, _internal/)
#     pianola            launcher: run without installing (./pianola [FILE])
#     pianola-cli        launcher for the command line
#     pianola.png        the icon
#     pianola.desktop    the menu entry (install.sh fills in the paths)
#     install.sh         install for this user: ~/.local/lib/pianola, ~/.local/bin, the menu
#     uninstall.sh       remove it again (keeps your models and settings)
#     README.txt, VERSION
#
#   packaging/make_tarball.sh            build (or reuse) the bundle, then pack it
#   packaging/make_tarball.sh --no-build pack dist/pianola as it is
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != "--no-build" ]; then
    packaging/build.sh --reuse
fi
if [ ! -x dist/pianola/pianola ]; then
    echo "make_tarball: no bundle in dist/pianola (run packaging/build.sh)" >&2
    exit 1
fi

VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -1)
ARCH=$(uname -m)
NAME=pianola-$VERSION-linux-$ARCH
STAGE=build/tarball/$NAME
rm -rf build/tarball
mkdir -p "$STAGE"

cp -a dist/pianola "$STAGE/app"
for launcher in pianola pianola-cli; do
    install -m 755 packaging/linux/launcher.sh "$STAGE/$launcher"
done
install -m 755 packaging/linux/install.sh packaging/linux/uninstall.sh "$STAGE/"
install -m 644 packaging/linux/pianola.desktop "$STAGE/pianola.desktop"
install -m 644 packaging/icons/pianola.png "$STAGE/pianola.png"
echo "$VERSION" >"$STAGE/VERSION"
cat >"$STAGE/README.txt" <<TXT
Pianola $VERSION for Linux ($ARCH)

Run without installing:   ./pianola            (or ./pianola song.mid)
Install for this user:    ./install.sh         (menu entry + 'pianola' command in ~/.local/bin)
Remove:                   ~/.local/lib/pianola/uninstall.sh
Command line:             ./pianola-cli --help   (generate, harmonize, continue, train, evaluate)

Needs: x86_64 Linux with glibc 2.28 or newer (Ubuntu 20.04+, Debian 11+, Fedora 30+) and a
desktop session (X11 or Wayland). Sound uses the bundled PortAudio through ALSA/PulseAudio/
PipeWire; with no sound device the app still edits, generates and exports MIDI.
Your models and settings live in ~/.local/share/pianola and ~/.config and survive upgrades.
TXT

mkdir -p dist
OUT=dist/$NAME.tar.gz
# pigz packs on every core when it is installed; gzip otherwise.
if command -v pigz >/dev/null 2>&1; then COMPRESS="pigz -6"; else COMPRESS="gzip -6"; fi
tar -C build/tarball -cf - "$NAME" | $COMPRESS >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
rm -rf build/tarball
echo "make_tarball: $OUT ($(du -h "$OUT" | cut -f1); unpacked $(du -sh dist/pianola | cut -f1))"
