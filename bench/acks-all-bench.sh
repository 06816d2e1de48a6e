#!/usr/bin/env bash
# acks=all on a replicated cluster: starts a local 3-broker cluster (scripts/local-cluster.sh, in a
# temporary directory), then runs Gregor.LatencyBench twice against a replication-factor-3 topic
# of 1,000-byte records: paced at a fixed RATE_MB MB/s (default 50) for DURATION s (default 30),
# then unpaced (as fast as the cluster acknowledges). Prints acknowledged throughput and
# end-to-end latency p50/p99/p99.9. Stops the cluster and deletes its data however it ends.
#   bench/acks-all-bench.sh            environment: RATE_MB, DURATION, WARMUP, PARTITIONS,
#                                      RECORD_SIZE, BASE_PORT (default 9500: 19592, 29592, 39592),
#                                      SKIP_UNPACED=1
set -euo pipefail
cd "$(dirname "$0")/.."
RATE_MB="${RATE_MB:-50}"
DURATION="${DURATION:-30}"
WARMUP="${WARMUP:-5}"
PARTITIONS="${PARTITIONS:-6}"
RECORD_SIZE="${RECORD_SIZE:-1000}"
export BASE_PORT="${BASE_PORT:-9500}"
DIR=$(mktemp -d "${TMPDIR:-/tmp}/gregor-acks-all-bench.XXXXXX")
cleanup() {
  scripts/local-cluster.sh stop "$DIR" >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT

dotnet build bench/Gregor.LatencyBench -c Release -v q -nologo >/dev/null
BOOTSTRAP=$(scripts/local-cluster.sh start "$DIR" | tail -1)
echo "cluster: $BOOTSTRAP"
bench() {
  dotnet bench/Gregor.LatencyBench/bin/Release/net10.0/Gregor.LatencyBench.dll --bootstrap "$BOOTSTRAP" \
    --partitions "$PARTITIONS" --replication-factor 3 --record-size "$RECORD_SIZE" --acks all \
    --duration "$DURATION" --warmup "$WARMUP" "$@"
}
echo "== paced at $RATE_MB MB/s"
bench --topic acks-all-paced --rate-mb "$RATE_MB" || echo "(paced run exited with $?)"
if [ "${SKIP_UNPACED:-0}" != 1 ]; then
  echo "== unpaced"
  bench --topic acks-all-unpaced --rate-mb 0 || echo "(unpaced run exited with $?)"
fi
