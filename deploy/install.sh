#!/usr/bin/env bash
# Installs or upgrades tsp-adaptor on a Debian host from a built release (docs/install.md):
# the tsp-adaptor system user, the release in /opt/tsp-adaptor (the previous one kept as
# /opt/tsp-adaptor.prev), /etc/tsp-adaptor/config.yaml (only if absent: an upgrade never
# overwrites it), the systemd unit, daemon-reload and enable. A running service is restarted.
#
#   deploy/install.sh [--release DIR] [--destdir DIR] [--dry-run]
#
# --release  the built release: a directory holding package.json, dist/ and node_modules/
#            (default: the checkout this script is in).
# --destdir  stage everything under DIR instead of / (packaging, tests): no user is created,
#            nothing is chowned and systemctl is not called; those steps are printed.
# --dry-run  print every step, change nothing.
set -euo pipefail

SERVICE=tsp-adaptor
APP_USER=tsp-adaptor
PREFIX=/opt/tsp-adaptor
CONF_DIR=/etc/tsp-adaptor
STATE_DIR=/var/lib/tsp-adaptor
LOG_DIR=/var/log/tsp-adaptor
UNIT_DIR=/etc/systemd/system
NODE_MAJOR_MIN=20

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
release=$(cd "$here/.." && pwd)
destdir=
dry_run=false

die() { echo "install.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --release) [ $# -ge 2 ] || die "--release needs a directory"; release=$2; shift 2 ;;
    --destdir) [ $# -ge 2 ] || die "--destdir needs a directory"; destdir=${2%/}; shift 2 ;;
    --dry-run) dry_run=true; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

# Steps that change the host; printed instead under --dry-run.
run() {
  echo "+ $*"
  if ! $dry_run; then "$@"; fi
}
# Steps that only make sense on the real host (user, ownership, systemd): printed when staging.
host() {
  if [ -n "$destdir" ] || $dry_run; then echo "+ (on the host) $*"; else echo "+ $*"; "$@"; fi
}

[ -f "$release/package.json" ] || die "$release is not a release: no package.json"
[ -f "$release/dist/src/cli.js" ] || die "$release has no dist/src/cli.js: run 'npm run build' there first"
[ -d "$release/node_modules" ] || die "$release has no node_modules: run 'npm ci --omit=dev' there first"
[ -f "$release/deploy/$SERVICE.service" ] || die "$release has no deploy/$SERVICE.service"

if [ -z "$destdir" ] && ! $dry_run; then
  [ "$(id -u)" -eq 0 ] || die "run as root (or with --dry-run / --destdir to try it)"
  command -v systemctl >/dev/null || die "systemctl not found: this installs a systemd service"
  node_major=$(/usr/bin/node -p 'process.versions.node.split(".")[0]' 2>/dev/null) \
    || die "/usr/bin/node not found: install Node.js $NODE_MAJOR_MIN or later (the unit runs /usr/bin/node)"
  [ "$node_major" -ge "$NODE_MAJOR_MIN" ] || die "/usr/bin/node is Node $node_major; $NODE_MAJOR_MIN or later is needed"
fi

echo "installing $release into ${destdir:-/}"

# 1. The user the service runs as: no login, no home outside its state directory.
if ! id "$APP_USER" >/dev/null 2>&1 || [ -n "$destdir" ]; then
  host useradd --system --user-group --home-dir "$STATE_DIR" --no-create-home --shell /usr/sbin/nologin "$APP_USER"
fi

# 2. The release, next to the running one, then swapped in: an upgrade keeps the previous
#    release as $PREFIX.prev for a quick way back.
run install -d -m 0755 "$destdir$(dirname "$PREFIX")"
run rm -rf "$destdir$PREFIX.new"
run install -d -m 0755 "$destdir$PREFIX.new"
for part in package.json dist node_modules docs deploy; do
  if [ -e "$release/$part" ]; then run cp -a "$release/$part" "$destdir$PREFIX.new/"; fi
done
# The operator console's static files are served from the source tree's place (tsc compiles
# only TypeScript into dist/), found from package.json.
console_files=src/adaptor/console/public
[ -d "$release/$console_files" ] || die "$release has no $console_files: the operator console would be missing"
run install -d -m 0755 "$destdir$PREFIX.new/$(dirname "$console_files")"
run cp -a "$release/$console_files" "$destdir$PREFIX.new/$console_files"

if [ -e "$destdir$PREFIX" ]; then
  run rm -rf "$destdir$PREFIX.prev"
  run mv "$destdir$PREFIX" "$destdir$PREFIX.prev"
fi
run mv "$destdir$PREFIX.new" "$destdir$PREFIX"

# 3. Configuration: the example always, config.yaml only on a first install.
run install -d -m 0750 "$destdir$CONF_DIR"
run install -m 0640 "$release/deploy/config.example.yaml" "$destdir$CONF_DIR/config.example.yaml"
if [ ! -e "$destdir$CONF_DIR/config.yaml" ]; then
  run install -m 0640 "$release/deploy/config.example.yaml" "$destdir$CONF_DIR/config.yaml"
fi
host chown -R "root:$APP_USER" "$CONF_DIR"

# 4. State and call records: systemd creates them too (StateDirectory=, LogsDirectory=);
#    made here so they exist with the right owner before the first start.
run install -d -m 0750 "$destdir$STATE_DIR" "$destdir$LOG_DIR"
host chown "$APP_USER:$APP_USER" "$STATE_DIR" "$LOG_DIR"

# 5. The unit, then systemd.
run install -d -m 0755 "$destdir$UNIT_DIR"
run install -m 0644 "$release/deploy/$SERVICE.service" "$destdir$UNIT_DIR/$SERVICE.service"
host systemctl daemon-reload
host systemctl enable "$SERVICE"
if [ -z "$destdir" ] && ! $dry_run && systemctl is-active --quiet "$SERVICE"; then
  run systemctl restart "$SERVICE"
fi

echo "done. Next: edit $CONF_DIR/config.yaml (bridges, webex.allowedHosts, certificates),"
echo "check it with: sudo -u $APP_USER /usr/bin/node $PREFIX/dist/src/cli.js check-config $CONF_DIR/config.yaml"
echo "then: systemctl start $SERVICE && journalctl -u $SERVICE -f"
