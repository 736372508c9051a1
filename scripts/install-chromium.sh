#!/usr/bin/env bash
# Installs Debian's Chromium for the GraphiQL browser check (test/graphql/graphiql-browser.test.ts). playwright-core
# drives it at /usr/bin/chromium; never `npx playwright install`, which downloads a browser from the internet.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null)"
