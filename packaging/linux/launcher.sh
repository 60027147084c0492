#!/bin/sh
# Run Pianola from the unpacked archive without installing it: ./pianola [FILE.mid]
# (./pianola-cli is the command line, e.g. ./pianola-cli generate --out songs/)
HERE=$(dirname "$(readlink -f "$0")")
exec "$HERE/app/$(basename "$0")" "$@"
