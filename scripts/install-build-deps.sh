#!/usr/bin/env bash
# Installs what building Cairn needs beyond Rust: HiGHS (the MILP solver of the risk engine,
# compiled from source by the `highs-sys` crate) wants cmake, a C++ compiler and libclang (for
# its generated bindings). The indexer's tests run a real PostgreSQL (scripts/postgres.sh). Debian
# packages through apt; skipped when they are already there.
set -euo pipefail
bash "$(dirname "$0")/postgres.sh" install
have_libclang() {
    ldconfig -p 2>/dev/null | grep -q 'libclang\(-[0-9.]*\)\?\.so' ||
        ls /usr/lib/llvm-*/lib/libclang.so* >/dev/null 2>&1 ||
        { [ -n "${LIBCLANG_PATH:-}" ] && ls "$LIBCLANG_PATH"/libclang*.so* >/dev/null 2>&1; }
}
missing=()
command -v cmake >/dev/null || missing+=(cmake)
command -v c++ >/dev/null || missing+=(g++)
have_libclang || missing+=(libclang-dev)
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-build-deps: installing ${missing[*]} with apt" >&2
$SUDO apt-get update -qq >&2 || true
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >&2
