#!/usr/bin/env bash
# Fills a compacted partition with 1 GiB over 100,000 keys and reports the cleaner's throughput
# (MB/s) and the log size before and after one pass. Runs the storage layer in-process (no
# network): it measures the cleaner, not the produce path. Pass a smaller size on small machines:
#   bench/compaction-bench.sh [bytes] [keys] [value-size]
set -euo pipefail
cd "$(dirname "$0")/.."
BYTES="${1:-1073741824}"
KEYS="${2:-100000}"
VALUE_SIZE="${3:-1000}"
dotnet run -c Release --project bench/Gregor.CompactionBench -- \
  --bytes "$BYTES" --keys "$KEYS" --value-size "$VALUE_SIZE"
