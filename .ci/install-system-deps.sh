#!/usr/bin/env bash
# System packages the tests need, installed only when missing (idempotent, non-interactive).
#   chromium      the operator dashboard's end-to-end test (/usr/bin/chromium, headless)
#   redis-server  the private Redis of the test fixtures and `iub up`
#   prometheus    for promtool: CI checks and unit-tests deploy/prometheus/iub-alerts.yaml and the
#                 Grafana dashboard's queries (only the tool is used; no Prometheus server is started)
# Runs as root (CI) or through passwordless sudo; does nothing when everything is present.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)

if [ ${#missing[@]} -eq 0 ]; then
  echo "system deps: present (chromium, redis-server, promtool)"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "system deps: missing ${missing[*]}; run this script as root (apt-get install ${missing[*]})" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "system deps: missing ${missing[*]} and no apt-get; install them with your package manager" >&2
  exit 1
fi

echo "system deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
