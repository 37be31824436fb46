#!/usr/bin/env bash
# Runs scripts/demo-cluster on free ports in a temporary dir with the
# shelfsync under test (SHELFSYNC_BIN), made fast (2 s leases, fewer and
# smaller batches), and checks that it shows what it claims: the kill of the
# store's owner landed while a batch was in flight, the resend to the other
# nodes showed duplicates, the survivors took every slot, the stock read on
# random nodes equals the events, the store holds what the events imply, and
# the Amazon seller too, and the verdict. The demo itself exits 1 when one of its checks fails. Exits
# 77 (skipped) when nats-server is not installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${SHELFSYNC_BIN:?set SHELFSYNC_BIN to the shelfsync binary}"
if ! command -v nats-server >/dev/null && [ ! -x /usr/sbin/nats-server ]; then
  echo "demo_cluster_test: nats-server is not installed (scripts/setup installs it)"
  exit 77
fi

dir=$(mktemp -d /tmp/shelfsync-demo-cluster-test.XXXXXX)
trap 'rm -rf "$dir"' EXIT

status=0
DEMO_DIR=$dir/demo DEMO_LEASE_TTL=2 DEMO_BATCHES=6 DEMO_BIG_EVENTS=20000 \
  bash "$here/../../scripts/demo-cluster" >"$dir/out" 2>&1 || status=$?
cat "$dir/out"
[ "$status" -eq 0 ] || { echo "demo_cluster_test: the demo exited $status"; exit 1; }

expect() {
  grep -qE -- "$1" "$dir/out" || { echo "demo_cluster_test: no line matches: $1"; exit 1; }
}
expect '^   n[1-3] owns +[56] slots: '
expect '^   no answer: curl: \((52|56)\)'
expect '^0[45] +2000 +n[1-3] +0 +2000$'
expect '^   [1-9][0-9]* events were already in the log: acknowledged as duplicates'
expect '^== take-over: the survivors own all 16 slots [0-9.]+ s after the kill'
expect '^   n[1-3] owns  8 slots: '
expect '^   0 differences \(each event counted once'
expect '^   eu-store: ([0-9]+) of \1 numbers as the events imply'
expect '^   amazon-us: ([0-9]+) of \1 numbers as the events imply'
expect '^== verdict: PASS\.'
echo "demo_cluster_test: ok"
