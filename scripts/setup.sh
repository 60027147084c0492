#!/usr/bin/env bash
# Set up everything Pianola needs, idempotently: system libraries (when root or sudo is
# available), a virtual environment in .venv, torch, then the project with its dev extra.
#
#   TORCH_SPEC   what to install for torch (default: torch==2.13.0). A GPU user can set
#                e.g. TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"
#                or install a CUDA torch into .venv first: an installed torch is kept.
#   PYTHON       interpreter used to create .venv (default: python3, must be >= 3.11)
#
# A second run finds the stamp (a hash of pyproject.toml, this script and TORCH_SPEC)
# and returns within seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
STAMP="$VENV/.pianola-setup"
KEY=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)-$(echo "$TORCH_SPEC" | sha256sum | cut -c1-16)

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$KEY" ]; then
    echo "setup: up to date (delete $STAMP to force)"
    exit 0
fi

# --- system packages --------------------------------------------------------------------
# PortAudio for sounddevice; the libraries Qt's xcb platform plugin loads; Xvfb so the GUI
# and its tests run on a machine without a display.
APT_PACKAGES="libportaudio2 libxcb-cursor0 libxkbcommon0 libxkbcommon-x11-0 libegl1 libgl1
libglib2.0-0 libfontconfig1 libfreetype6 libdbus-1-3 libxcb-icccm4 libxcb-keysyms1
libxcb-shape0 libxcb-randr0 libxcb-render-util0 libxcb-image0 libxcb-xinerama0 libxcb-xkb1
libxcb-xfixes0 libxrender1 libxi6 xvfb xauth"
if ! "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1; then
    APT_PACKAGES="$APT_PACKAGES python3-venv"
fi
if command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1; then
    missing=""
    for pkg in $APT_PACKAGES; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing="$missing $pkg"
        fi
    done
    if [ -n "$missing" ]; then
        if [ "$(id -u)" = 0 ]; then
            SUDO=""
        elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            SUDO="sudo -n"
        else
            SUDO="none"
        fi
        if [ "$SUDO" = none ]; then
            echo "setup: not root and no sudo: please install:$missing" >&2
        else
            echo "setup: installing system packages:$missing"
            export DEBIAN_FRONTEND=noninteractive
            # Refresh the package lists only when an install from the current ones fails;
            # if a name is unknown on this release, install the others one by one.
            # shellcheck disable=SC2086
            if ! $SUDO apt-get install -y -q --no-install-recommends $missing; then
                $SUDO apt-get update -q || true
                if ! $SUDO apt-get install -y -q --no-install-recommends $missing; then
                    for pkg in $missing; do
                        $SUDO apt-get install -y -q --no-install-recommends "$pkg" \
                            || echo "setup: could not install $pkg" >&2
                    done
                fi
            fi
        fi
    fi
else
    echo "setup: no apt-get here; install PortAudio and Qt's xcb libraries yourself" >&2
fi

# --- virtual environment ----------------------------------------------------------------
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "setup: Pianola needs Python >= 3.11, $PYTHON is $("$PYTHON" --version 2>&1)" >&2
    exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PIP="$VENV/bin/python -m pip"

# torch first, so that the project's "torch" requirement is already met by the build
# chosen here (CPU on this machine, CUDA where the user asked for it) and pip never
# replaces it with a default download.
if "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
    echo "setup: torch $("$VENV/bin/python" -c 'import torch; print(torch.__version__)') already installed"
else
    echo "setup: installing $TORCH_SPEC"
    # shellcheck disable=SC2086
    $PIP install $TORCH_SPEC
fi

echo "setup: installing pianola (editable) with its dev tools"
$PIP install -e ".[dev]"

# SoundFont playback (Tools > Audio Settings). tinysoundfont's metadata pulls in pyaudio,
# which needs PortAudio headers and a compiler and which Pianola never uses: skip deps.
$PIP install --no-deps "tinysoundfont>=0.3.7" || echo "setup: tinysoundfont unavailable; SoundFont playback falls back to the built-in synth"

echo "$KEY" > "$STAMP"
echo "setup: done"
