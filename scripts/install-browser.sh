#!/usr/bin/env bash
# Installs what the web app's browser test needs (issue 15), idempotently: Debian's Chromium
# (/usr/bin/chromium) and, in target/web-test, the npm packages playwright-core (drives that
# browser; it downloads no browser of its own) and @metamask/eth-sig-util (the test's wallet
# signs EIP-712 with a devnet key). Prints the directory of the npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
    else
        sudo apt-get update -qq >&2 && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
    fi
fi
DIR="$PWD/target/web-test"
mkdir -p "$DIR"
if [ ! -d "$DIR/node_modules/playwright-core" ] || [ ! -d "$DIR/node_modules/@metamask/eth-sig-util" ]; then
    cp scripts/web-test/package.json "$DIR/package.json"
    (cd "$DIR" && npm install --silent --no-audit --no-fund >&2)
fi
echo "$DIR"
