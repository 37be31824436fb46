#!/usr/bin/env bash
# Runs scripts/demo on free ports in a temporary dir with the shelfsync under
# test (SHELFSYNC_BIN), and checks that it shows what it claims: the kill
# landed while a batch was in flight, the resend showed duplicates, the stock
# equals the events, every number was confirmed, and it says what to try
# next. The demo itself exits 1 when one of its checks fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${SHELFSYNC_BIN:?set SHELFSYNC_BIN to the shelfsync binary}"

free_port() {
  local p
  for _ in $(seq 1 100); do
    # Below the kernel's ephemeral range (32768 and up), so that no
    # outgoing connection takes it before the demo's server starts.
    p=$((20000 + RANDOM % 12000))
    # Nothing answers a connect: free a moment ago.
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  echo "demo_test: no free port" >&2
  exit 1
}

dir=$(mktemp -d /tmp/shelfsync-demo-test.XXXXXX)
trap 'rm -rf "$dir"' EXIT
api_port=$(free_port)
sim_port=$(free_port)
while [ "$sim_port" = "$api_port" ]; do sim_port=$(free_port); done

status=0
DEMO_DIR=$dir/demo DEMO_API_PORT=$api_port DEMO_SIM_PORT=$sim_port \
  bash "$here/../../scripts/demo" >"$dir/out" 2>&1 || status=$?
cat "$dir/out"
[ "$status" -eq 0 ] || { echo "demo_test: the demo exited $status"; exit 1; }

expect() {
  grep -qE -- "$1" "$dir/out" || { echo "demo_test: no line matches: $1"; exit 1; }
}
expect '^   no answer: curl: \((52|56)\)'
expect '^   [1-9][0-9]* events were already in the log: acknowledged as duplicates'
expect '^07 +2000 +0 +2000 '
expect '^   0 differences \(each event counted once'
expect 'eu-store: ([0-9]+) of \1 numbers confirmed by Shopify; amazon-us: ([0-9]+) of \2 confirmed'
expect "^  status page: .*http://127.0.0.1:$api_port/"
expect '^  a product.s log: .* log --config '
expect '^  explain a number: .* explain --config '
echo "demo_test: ok"
