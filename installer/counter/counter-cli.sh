#!/bin/sh
# The counter's command line (pair, status, lookup, outbox, ...), run by the installed app's own
# Node: its Electron binary in Node mode. Run it as the user who uses the counter, e.g.
#   "/opt/Showroom Loyalty Counter/resources/counter-cli.sh" pair --central URL --code CODE
# It uses the data folder the app uses by default; set TERMINAL_DATA_DIR if counter.json moves it.
set -eu

if [ "$(id -u)" -eq 0 ] && [ -z "${TERMINAL_DATA_DIR:-}" ]; then
  echo "Run this as the user who uses the counter, not as root: the counter's data is in that user's folder." >&2
  exit 1
fi

resources=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
app_dir=$(dirname -- "$resources")
TERMINAL_DATA_DIR=${TERMINAL_DATA_DIR:-${XDG_CONFIG_HOME:-$HOME/.config}/Showroom Loyalty Counter/terminal}
export TERMINAL_DATA_DIR
ELECTRON_RUN_AS_NODE=1 exec "$app_dir/showroom-loyalty-counter" "$resources/app/terminal/main.ts" "$@"
