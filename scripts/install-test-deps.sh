#!/usr/bin/env bash
# Installs what the tests need when it is missing: Debian's Chromium, PostgreSQL, gettext and prometheus (as root,
# through apt) and the npm packages of the tests (oidc-provider, axe-core). Never downloads a
# browser build of its own (no `playwright install`).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
command -v xgettext >/dev/null 2>&1 || need_apt+=(gettext)  # makemessages, for tests/i18n
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)  # promtool, for tests/ops/test_docs.py
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing system packages: ${need_apt[*]}. Install them (apt-get install ${need_apt[*]}) or run as root." >&2
    exit 1
  fi
  echo "Installing ${need_apt[*]} with apt-get..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ -f tests/js/package-lock.json ] && [ ! -d tests/js/node_modules ]; then
  (cd tests/js && npm ci --silent --no-audit --no-fund)
fi
