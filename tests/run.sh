#!/usr/bin/env bash
# The whole Skyview test suite, from a fresh machine:
#   1. installs the real peers the compatibility tests run against, when they are missing
#      (Debian's prometheus, victoria-metrics with vmagent, prometheus-node-exporter);
#   2. checks formatting and runs clippy with -D warnings;
#   3. builds the skyview binary and runs every test in the workspace.
# Tests and the binary share the dev profile (dependencies optimised, see Cargo.toml), so
# RocksDB and friends build once.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v prometheus >/dev/null || missing+=(prometheus)
command -v victoria-metrics >/dev/null || missing+=(victoria-metrics)
command -v vmagent >/dev/null || missing+=(victoria-metrics)
command -v prometheus-node-exporter >/dev/null || missing+=(prometheus-node-exporter)
# RocksDB's Rust bindings are generated with bindgen, which needs libclang.
compgen -G "/usr/lib/llvm-*/lib/libclang.so*" >/dev/null || missing+=(libclang-dev clang)
if ((${#missing[@]})); then
    echo "==> installing peers: ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

echo "==> rustfmt"
cargo fmt --all --check
echo "==> clippy"
# Clippy never links, so it needs RocksDB's generated bindings but not its C++ library: pointing
# librocksdb-sys at a library directory skips the C++ build (10+ minutes on 2 cores) that check
# mode would otherwise run a second time, apart from the build below.
ROCKSDB_LIB_DIR="$PWD/target/clippy-no-rocksdb-lib" ROCKSDB_STATIC=1 \
    cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> build"
# The same target selection as the test run below, so both resolve the same features and
# share one build of every dependency (RocksDB's C++ above all).
cargo build --workspace --locked --lib --bins --tests
echo "==> tests"
# Unit and integration tests of every crate (there are no doc tests). The output is kept so
# the run ends with one line counting every test, whatever the last test binary was.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked --no-fail-fast --lib --bins --tests "$@" 2>&1 | tee "$log" || status=$?
awk '/^test result:/ { passed += $4; failed += $6; ignored += $8 }
     END { printf "tests: %d passed, %d failed, %d skipped\n", passed, failed, ignored }' "$log"
exit "$status"
