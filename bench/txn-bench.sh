#!/usr/bin/env bash
# Transactional vs non-transactional producer throughput against Gregor, same run: starts
# src/Gregor.Host (temporary log.dirs, an ephemeral loopback port) and runs bench/Gregor.TxnBench
# (Confluent.Kafka): COUNT x SIZE-byte records with acks=all and idempotence, first without
# transactions, then committing every PER_TXN records. Prints records/s for both and the ratio.
#
#   bench/txn-bench.sh                          # 200,000 x 1,000 B, 100 records per transaction
#   COUNT=50000 PER_TXN=1000 bench/txn-bench.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
count=${COUNT:-200000}
size=${SIZE:-1000}
per_txn=${PER_TXN:-100}

work=$(mktemp -d "${TMPDIR:-/tmp}/gregor-txn-bench.XXXXXX")
pid=
cleanup() {
  if [[ -n $pid ]]; then
    # The host runs in its own process group (setsid), so `dotnet run` and the host go together.
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s\n' "$*" >&2; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null \
    || echo $((20000 + RANDOM % 30000))
}

wait_for_port() { # port, pid, seconds
  local deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    kill -0 "$2" 2>/dev/null && ! grep -q "^State:.*Z" "/proc/$2/status" 2>/dev/null || return 1
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.5
  done
  return 1
}

log "building src/Gregor.Host and bench/Gregor.TxnBench (Release)"
dotnet build -c Release "$root/src/Gregor.Host" -v q -nologo >"$work/build.log" 2>&1 \
  && dotnet build -c Release "$root/bench/Gregor.TxnBench" -v q -nologo >>"$work/build.log" 2>&1 \
  || { grep -E "error" "$work/build.log" | head -5 >&2; exit 1; }

port=$(free_port)
log "starting Gregor on 127.0.0.1:$port"
setsid dotnet run --no-build -c Release --project "$root/src/Gregor.Host" -- \
  --override "log.dirs=$work/logs" --override "listeners=PLAINTEXT://127.0.0.1:$port" \
  >"$work/gregor.out" 2>&1 &
pid=$!
wait_for_port "$port" "$pid" 60 || { log "Gregor did not listen on $port within 60 s:"; tail -20 "$work/gregor.out" >&2; exit 1; }

dotnet "$root/bench/Gregor.TxnBench/bin/Release/net10.0/Gregor.TxnBench.dll" "127.0.0.1:$port" "$count" "$size" "$per_txn"
