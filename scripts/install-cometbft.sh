#!/usr/bin/env bash
# Installs the CometBFT binary Cairn's multi-validator network runs under (issue 14) into
# target/tools/bin/cometbft, from the Go module proxy; skipped when that version is already there.
# Needs Go (1.22 or later). Prints the binary's path.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${COMETBFT_VERSION:-v0.38.25}"
BIN_DIR="$PWD/target/tools/bin"
BIN="$BIN_DIR/cometbft"
if [ -x "$BIN" ] && [ "$("$BIN" version 2>/dev/null)" = "${VERSION#v}" ]; then
    echo "$BIN"
    exit 0
fi
if ! command -v go >/dev/null; then
    echo "install-cometbft: Go is needed (https://go.dev/dl/, or apt-get install golang)" >&2
    exit 2
fi
mkdir -p "$BIN_DIR"
GOBIN="$BIN_DIR" go install "github.com/cometbft/cometbft/cmd/cometbft@$VERSION" >&2
installed="$("$BIN" version)"
if [ "$installed" != "${VERSION#v}" ]; then
    echo "install-cometbft: installed $installed, wanted ${VERSION#v}" >&2
    exit 1
fi
echo "$BIN"
