#!/usr/bin/env bash
# `cmake --install` into a fresh prefix puts the binary, the systemd unit
# (naming that binary), the sample configs and the docs in place, and the
# installed binary runs and accepts the installed sample configs.
# Usage: tests/install_test.sh BUILD_DIR
set -euo pipefail
build=$1
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >"$prefix.log" 2>&1 \
  || { cat "$prefix.log"; rm -f "$prefix.log"; exit 1; }
rm -f "$prefix.log"
fail() { echo "install_test: $*" >&2; exit 1; }
for f in bin/shelfsync lib/systemd/system/shelfsync.service \
         share/shelfsync/shopify.sample.json share/shelfsync/amazon.sample.json \
         share/doc/shelfsync/README.md share/doc/shelfsync/api.md \
         share/doc/shelfsync/events.md share/doc/shelfsync/guarantees.md; do
  [ -e "$prefix/$f" ] || fail "$f is not installed"
done
[ -x "$prefix/bin/shelfsync" ] || fail "bin/shelfsync is not executable"
unit=$prefix/lib/systemd/system/shelfsync.service
grep -q "^ExecStart=$prefix/bin/shelfsync serve --config " "$unit" \
  || fail "the unit does not start the installed binary: $(grep ExecStart "$unit")"
grep -q '@' "$unit" && fail "the unit has an unfilled @VARIABLE@"
if command -v systemd-analyze >/dev/null 2>&1; then
  # Verifies syntax; the user and config it names do not exist here.
  timeout 30 systemd-analyze verify "$unit" 2>&1 | grep -iE 'unknown|invalid|failed to parse' \
    && fail "systemd-analyze finds problems in the unit"
fi
"$prefix/bin/shelfsync" --version | grep -q '^shelfsync [0-9]' \
  || fail "the installed binary does not run"
export SHELFSYNC_API_TOKEN=x SHOPIFY_ADMIN_TOKEN=x AMAZON_LWA_CLIENT_ID=x \
  AMAZON_LWA_CLIENT_SECRET=x AMAZON_LWA_REFRESH_TOKEN=x
for sample in shopify amazon; do
  "$prefix/bin/shelfsync" check-config \
    --config "$prefix/share/shelfsync/$sample.sample.json" >/dev/null \
    || fail "check-config refuses the installed $sample sample"
done
echo "install_test: ok ($prefix)"
