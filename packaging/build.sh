#!/usr/bin/env bash
# Build the Pianola bundle with PyInstaller: dist/pianola/ (onedir) holding the desktop app
# `pianola` and the command line `pianola-cli`, the bundled model, dataset and icons.
# On macOS the same build also produces dist/Pianola.app.
#
#   packaging/build.sh            set up .venv-build when needed, then build
#   packaging/build.sh --reuse    skip the build when dist/pianola is newer than every input
#
# Environment (all optional):
#   TORCH_SPEC          torch for the bundle (default torch==2.13.0, the CPU wheel here).
#                       GPU variant, e.g.: TORCH_SPEC="torch==2.13.0 --index-url
#                       https://download.pytorch.org/whl/cu128" BUILD_VENV=.venv-build-cuda
#   BUILD_VENV          the build environment (default .venv-build; never the dev .venv,
#                       whose test tools such as music21 must not reach the bundle)
#   PYTHON              interpreter for the build env (default python3, >= 3.11, built
#                       with a shared libpython, as python.org, distro and pyenv builds are)
#   PIANOLA_MODELS_SRC  bundle the models in this folder instead of models/
#   PIANOLA_STRIP=0     keep the symbol tables of torch's libraries (stripped on Linux)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

BUILD_VENV=${BUILD_VENV:-.venv-build}
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
REUSE=0
[ "${1:-}" = "--reuse" ] && REUSE=1

if [ -x "$BUILD_VENV/Scripts/python.exe" ]; then
    VPY="$BUILD_VENV/Scripts/python.exe"  # Windows (Git Bash / MSYS)
else
    VPY="$BUILD_VENV/bin/python"
fi

# --- build environment ---------------------------------------------------------------------
# The stamp covers what decides the environment's contents, so a second build skips pip.
KEY=$(cat pyproject.toml packaging/requirements-build.txt | sha256sum | cut -c1-32)-$(echo "$TORCH_SPEC" | sha256sum | cut -c1-16)
STAMP="$BUILD_VENV/.pianola-build-env"
if [ ! -x "$VPY" ] || [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$KEY" ]; then
    if [ ! -x "$VPY" ]; then
        echo "build: creating $BUILD_VENV"
        "$PYTHON" -m venv "$BUILD_VENV"
        [ -x "$BUILD_VENV/Scripts/python.exe" ] && VPY="$BUILD_VENV/Scripts/python.exe"
    fi
    if ! "$VPY" -c "import torch" >/dev/null 2>&1; then
        echo "build: installing $TORCH_SPEC"
        # shellcheck disable=SC2086
        "$VPY" -m pip install $TORCH_SPEC
    fi
    echo "build: installing the app's runtime dependencies and PyInstaller"
    REQS=$(mktemp)
    trap 'rm -f "$REQS"' EXIT
    "$VPY" - >"$REQS" <<'EOF'
import tomllib

with open("pyproject.toml", "rb") as f:
    print("\n".join(tomllib.load(f)["project"]["dependencies"]))
EOF
    "$VPY" -m pip install -r "$REQS" -r packaging/requirements-build.txt
    # Optional SoundFont synth; its metadata asks for PyAudio, which the app never uses.
    "$VPY" -m pip install --no-deps "tinysoundfont>=0.3" || echo "build: tinysoundfont unavailable: SoundFonts off"
    echo "$KEY" >"$STAMP"
fi

# Another Qt binding in the build env would be bundled next to PySide6 and clash with it.
if "$VPY" -m pip show PyQt5 PyQt6 PySide2 >/dev/null 2>&1; then
    echo "build: PyQt5/PyQt6/PySide2 is installed in $BUILD_VENV; remove it first" >&2
    exit 1
fi
"$VPY" -c "import torch; print('build: torch', torch.__version__, '(CUDA', torch.version.cuda, ')')"

# --- reuse ------------------------------------------------------------------------------------
EXE=dist/pianola/pianola
if [ "$REUSE" = 1 ] && [ -x "$EXE" ]; then
    MODELS_SRC=${PIANOLA_MODELS_SRC:-models}
    newer=$(find main.py studio resources packaging/pianola.spec packaging/pianola_cli.py \
        packaging/icons "$MODELS_SRC" pyproject.toml -newer "$EXE" -type f \
        ! -name '*.pyc' -print -quit 2>/dev/null || true)
    if [ -z "$newer" ]; then
        echo "build: dist/pianola is up to date (reused)"
        exit 0
    fi
    echo "build: rebuilding ($newer changed)"
fi

# --- build ------------------------------------------------------------------------------------
start=$(date +%s)
"$VPY" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" packaging/pianola.spec
echo "build: dist/pianola built in $(($(date +%s) - start)) s, $(du -sh dist/pianola | cut -f1)"
