#!/bin/sh
# Installs or upgrades Showroom Loyalty central as a systemd service, from the release folder
# this script is in. Safe to run again: it never overwrites the settings, and restarts a running
# service on the new version (migrations run at its start).
#
#   sudo installer/central/install.sh            # copies the app and runs npm ci --omit=dev
#   sudo installer/central/install.sh --no-npm   # the release already holds node_modules
#
# Layout: /opt/showroom-loyalty (the app, root-owned), /etc/showroom-loyalty/central.env
# (settings, root:showroom 0640), /var/lib/showroom-loyalty (data, showroom 0750), the unit
# showroom-loyalty-central.service, and /usr/local/bin/showroom-loyalty-central (admin CLI).
set -eu

APP_DIR=/opt/showroom-loyalty
CONF_DIR=/etc/showroom-loyalty
DATA_DIR=/var/lib/showroom-loyalty
SERVICE=showroom-loyalty-central
SERVICE_USER=showroom
NODE=/usr/bin/node
UNIT_DIR=/etc/systemd/system
BIN_DIR=/usr/local/bin

say() { printf '%s\n' "$*"; }
die() {
  printf 'install.sh: %s\n' "$*" >&2
  exit 1
}

use_npm=yes
for arg in "$@"; do
  case "$arg" in
    --no-npm) use_npm=no ;;
    -h | --help)
      sed -n '2,13p' "$0"
      exit 0
      ;;
    *) die "unknown option $arg (see --help)" ;;
  esac
done

[ "$(id -u)" -eq 0 ] || die "run it as root (sudo)."

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
src=$(CDPATH='' cd -- "$here/../.." && pwd)
[ -f "$src/central/main.ts" ] || die "$src does not look like a Showroom Loyalty release (no central/main.ts)."

# Node 22.18 or newer runs the TypeScript sources as they are.
[ -x "$NODE" ] || die "$NODE not found: install Node.js 22 LTS (22.18 or newer) first, see docs/installing.md."
"$NODE" -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 18) ? 0 : 1)' ||
  die "$NODE is $("$NODE" --version); central needs Node.js 22.18 or newer (22 LTS)."
if [ "$use_npm" = yes ]; then
  command -v npm >/dev/null 2>&1 || die "npm not found: install it, or run with --no-npm from a release that has node_modules."
elif [ ! -d "$src/node_modules" ]; then
  die "--no-npm, but $src/node_modules is missing."
fi

# The service account: no login, no home of its own beyond the data folder.
if ! getent passwd "$SERVICE_USER" >/dev/null; then
  say "Creating system user $SERVICE_USER"
  useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home \
    --shell /usr/sbin/nologin "$SERVICE_USER"
fi

install -d -m 0755 -o root -g root "$APP_DIR"
install -d -m 0750 -o root -g "$SERVICE_USER" "$CONF_DIR"
install -d -m 0750 -o "$SERVICE_USER" -g "$SERVICE_USER" "$DATA_DIR"

# The app: built beside the running one, then swapped in, so a failed npm ci changes nothing.
if [ "$src" != "$APP_DIR" ]; then
  say "Copying central from $src to $APP_DIR"
  stage="$APP_DIR.new"
  rm -rf "$stage"
  install -d -m 0755 "$stage"
  for item in central shared migrations docs package.json package-lock.json .npmrc README.md; do
    if [ -e "$src/$item" ]; then cp -R "$src/$item" "$stage/"; fi
  done
  if [ "$use_npm" = no ]; then cp -R "$src/node_modules" "$stage/"; fi
  if [ "$use_npm" = yes ]; then
    say "Installing production dependencies (npm ci --omit=dev)"
    (cd "$stage" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund)
  fi
  chown -R root:root "$stage"
  chmod -R u=rwX,go=rX "$stage"
  rm -rf "$APP_DIR.old"
  mv "$APP_DIR" "$APP_DIR.old"
  mv "$stage" "$APP_DIR"
  rm -rf "$APP_DIR.old"
elif [ "$use_npm" = yes ]; then
  say "Installing production dependencies in place (npm ci --omit=dev)"
  (cd "$APP_DIR" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund)
fi

# Settings: written once, with a random OTP key; never overwritten, permissions kept right.
env_file="$CONF_DIR/central.env"
if [ ! -e "$env_file" ]; then
  say "Writing $env_file (edit it, then restart the service)"
  secret=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
  sed "s/^OTP_SECRET=\$/OTP_SECRET=$secret/" "$here/central.env.example" >"$env_file.tmp"
  mv "$env_file.tmp" "$env_file"
fi
chown root:"$SERVICE_USER" "$env_file"
chmod 0640 "$env_file"

install -m 0644 -o root -g root "$here/$SERVICE.service" "$UNIT_DIR/$SERVICE.service"
install -m 0755 -o root -g root "$here/showroom-loyalty-central" "$BIN_DIR/showroom-loyalty-central"

if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  # Only a service that is running now is restarted, on the new files.
  systemctl try-restart "$SERVICE.service"
else
  say "systemd is not running here: the unit is installed but not loaded."
fi

say ""
say "Installed. Next:"
say "  1. Review $env_file (DATABASE_URL, CHAIN_NAME, SMS_CONFIG_FILE, HOST)."
say "  2. sudo systemctl enable --now $SERVICE"
say "  3. sudo showroom-loyalty-central create-admin --username admin"
say "  Logs: journalctl -u $SERVICE -f"
