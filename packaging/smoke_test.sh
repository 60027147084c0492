#!/usr/bin/env bash
# Smoke test of the frozen app, without a display:
#   1. build the bundle (or reuse dist/pianola when nothing changed since), then
#      `pianola --self-check OUT.mid` offscreen: main window + panels, icons, PortAudio,
#      bundled model, 2 generated bars into the document, MIDI written and read back
#   2. `pianola-cli generate`: MIDI files from the bundled model, checked to be MIDI
#   3. `pianola-cli train` (tiny, 2 steps) then generate from that run: the training stack
#      (optimizers import torch._dynamo) is in the bundle
#   4. with --tarball: pack, unpack into a scratch HOME, install.sh, run the installed
#      `pianola-cli`, check the menu entry, uninstall.sh, check everything is gone
# Prints the bundle size and the start-up times. Exit status 0 only if every step passed.
#
#   packaging/smoke_test.sh [--no-build] [--tarball]
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=1
TARBALL=0
for arg in "$@"; do
    case "$arg" in
        --no-build) BUILD=0 ;;
        --tarball) TARBALL=1 ;;
        *) echo "usage: $0 [--no-build] [--tarball]" >&2; exit 2 ;;
    esac
done

[ "$BUILD" = 1 ] && packaging/build.sh --reuse
APP=dist/pianola
[ -x "$APP/pianola" ] || { echo "smoke: no bundle in $APP" >&2; exit 1; }

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/pianola-smoke.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
# The frozen app must not read or write the developer's own settings and models.
export PIANOLA_DATA_DIR=$SCRATCH/data PIANOLA_CONFIG_DIR=$SCRATCH/config
export XDG_CONFIG_HOME=$SCRATCH/xdg-config XDG_DATA_HOME=$SCRATCH/xdg-data
export QT_QPA_PLATFORM=offscreen
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
fail() { echo "smoke: FAILED: $*" >&2; exit 1; }

is_midi() { [ -s "$1" ] && [ "$(head -c 4 "$1")" = "MThd" ]; }

echo "== bundle: $(du -sh "$APP" | cut -f1) in $(find "$APP" -type f | wc -l) files"

echo "== 1. frozen app: --self-check (offscreen)"
LAUNCH=$(date +%s.%N)
PIANOLA_LAUNCH_T=$LAUNCH timeout 600 "$APP/pianola" --self-check "$SCRATCH/self_check.mid" \
    >"$SCRATCH/self_check.log" 2>&1 || { cat "$SCRATCH/self_check.log"; fail "self-check exited $?"; }
END=$(date +%s.%N)
grep '^self-check' "$SCRATCH/self_check.log"
is_midi "$SCRATCH/self_check.mid" || fail "self-check wrote no MIDI file"
WINDOW=$(awk '/^self-check: window shown/ {print $4}' "$SCRATCH/self_check.log")
TOTAL=$(seconds "$LAUNCH" "$END")
echo "   first window shown after ${WINDOW}; self-check exited 0 after ${TOTAL}s"

echo "== 2. frozen CLI: generate"
START=$(date +%s.%N)
timeout 600 "$APP/pianola-cli" generate --bars 2 --variations 2 --seed 3 --out "$SCRATCH/generated" \
    || fail "pianola-cli generate exited $?"
END=$(date +%s.%N)
count=0
for f in "$SCRATCH"/generated/*.mid; do
    is_midi "$f" || fail "$f is not a MIDI file"
    count=$((count + 1))
done
[ "$count" = 2 ] || fail "expected 2 MIDI files, found $count"
echo "   $count MIDI files in $(seconds "$START" "$END")s"
"$APP/pianola-cli" --help >/dev/null || fail "pianola-cli --help"
set +e
"$APP/pianola-cli" generate --model "$SCRATCH/nope.pt" --out "$SCRATCH/x" 2>"$SCRATCH/err.txt"
status=$?
set -e
[ "$status" = 1 ] && grep -q "nope.pt" "$SCRATCH/err.txt" \
    || fail "a missing model should exit 1 naming the file (got $status: $(cat "$SCRATCH/err.txt"))"

echo "== 3. frozen CLI: train (tiny, 2 steps) and generate from the run"
mkdir -p "$SCRATCH/chorales"
cp resources/datasets/bach_chorales/bwv10.7.mid resources/datasets/bach_chorales/bwv101.7.mid \
    "$SCRATCH/chorales/"
START=$(date +%s.%N)
timeout 600 "$APP/pianola-cli" train --data "$SCRATCH/chorales" --out "$SCRATCH/run" --preset tiny \
    --steps 2 --batch-size 4 --checkpoint-every 2 --metrics-every 2 --log-every 1 \
    --cache-dir "$SCRATCH/cache" || fail "pianola-cli train exited $?"
timeout 600 "$APP/pianola-cli" generate --model "$SCRATCH/run" --bars 1 --variations 1 \
    --out "$SCRATCH/from-run" >/dev/null || fail "generate from the trained run exited $?"
is_midi "$(ls "$SCRATCH"/from-run/*.mid | head -1)" || fail "no MIDI from the trained run"
END=$(date +%s.%N)
echo "   trained and generated in $(seconds "$START" "$END")s"

if [ "$TARBALL" = 1 ]; then
    echo "== 4. tarball: install, run, uninstall"
    VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -1)
    ARCHIVE=dist/pianola-$VERSION-linux-$(uname -m).tar.gz
    # `make package` packed it already unless the bundle was rebuilt since.
    if [ ! "$ARCHIVE" -nt "$APP/pianola" ]; then
        packaging/make_tarball.sh --no-build
    fi
    mkdir -p "$SCRATCH/unpack" "$SCRATCH/home"
    tar -C "$SCRATCH/unpack" -xzf "$ARCHIVE"
    DIR=$(echo "$SCRATCH"/unpack/pianola-*)
    for f in app/pianola app/pianola-cli pianola pianola-cli pianola.png pianola.desktop \
        install.sh uninstall.sh README.txt VERSION; do
        [ -e "$DIR/$f" ] || fail "$f missing from $ARCHIVE"
    done
    "$DIR/pianola-cli" --help >/dev/null || fail "the unpacked launcher does not run"
    HOME=$SCRATCH/home XDG_DATA_HOME= "$DIR/install.sh" >/dev/null
    H=$SCRATCH/home
    [ -x "$H/.local/bin/pianola" ] && [ -x "$H/.local/bin/pianola-cli" ] || fail "commands not installed"
    grep -q "^Exec=\"$H/.local/lib/pianola/app/pianola\" %f" "$H/.local/share/applications/pianola.desktop" \
        || fail "menu entry missing or wrong"
    [ -f "$H/.local/share/icons/hicolor/256x256/apps/pianola.png" ] || fail "icon not installed"
    HOME=$H "$H/.local/bin/pianola-cli" generate --bars 1 --variations 1 --out "$SCRATCH/installed" \
        >/dev/null || fail "the installed pianola-cli does not generate"
    is_midi "$(ls "$SCRATCH"/installed/*.mid | head -1)" || fail "installed generate wrote no MIDI"
    HOME=$H XDG_DATA_HOME= "$H/.local/lib/pianola/uninstall.sh" >/dev/null
    [ ! -e "$H/.local/bin/pianola" ] && [ ! -e "$H/.local/lib/pianola" ] \
        && [ ! -e "$H/.local/share/applications/pianola.desktop" ] || fail "uninstall left files"
    echo "   $ARCHIVE: $(du -h "$ARCHIVE" | cut -f1); install, run and uninstall OK"
fi

echo "smoke: PASSED"
