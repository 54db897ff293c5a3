#!/bin/sh
# Installed as bin/shoald: runs the compiled daemon with the Node found on PATH.
here=$(dirname "$(readlink -f "$0")")
exec node --enable-source-maps "$here/../dist/main.js" "$@"
