#!/usr/bin/env bash
# Producer/consumer throughput with librdkafka's own benchmark client, rdkafka_performance:
# first against librdkafka's in-memory mock cluster (the least work a Kafka broker can do, so a
# machine-independent baseline), then against Gregor, and prints mock, Gregor and Gregor/mock.
#
#   bench/rdkafka-perf.sh                 # 1,000,000 x 1,000-byte records, acks=1
#   COUNT=200000 bench/rdkafka-perf.sh    # shorter run
#   SKIP_GREGOR=1 bench/rdkafka-perf.sh   # the mock half only
#
# Environment: COUNT, SIZE (bytes per record), PHASE_TIMEOUT (seconds per client run, 300),
# RDPERF_DIR (where the clients are built, cached between runs), LIBRDKAFKA=216|system (216, the
# librdkafka that Confluent.Kafka 2.16 ships, when its NuGet package is in the local cache).
# The clients are built by ../shared/tools/build-rdkafka-perf.sh (beside the repository); nothing
# from those tools is copied into the repository.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools=$root/../shared/tools
count=${COUNT:-1000000}
size=${SIZE:-1000}
phase_timeout=${PHASE_TIMEOUT:-300}
rdperf=${RDPERF_DIR:-${TMPDIR:-/tmp}/gregor-rdperf}
topic=perf

work=$(mktemp -d "${TMPDIR:-/tmp}/gregor-bench.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    # Each server runs in its own process group (setsid), so `dotnet run` and the host it starts go together.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s\n' "$*" >&2; }

# --- clients -----------------------------------------------------------------------------------
redist=$(ls -d "$HOME"/.nuget/packages/librdkafka.redist/2.16.*/runtimes/linux-x64/native/centos8-librdkafka.so 2>/dev/null | tail -1 || true)
lib=${LIBRDKAFKA:-$([[ -n $redist ]] && echo 216 || echo system)}
suffix=$([[ $lib == 216 ]] && echo 216 || echo "")
perf_bin=$rdperf/rdkafka_performance$suffix
mock_bin=$rdperf/rdkafka-mock-cluster$suffix
if [[ ! -x $perf_bin || ! -x $mock_bin ]]; then
  [[ -f $tools/build-rdkafka-perf.sh ]] || { log "missing $tools/build-rdkafka-perf.sh"; exit 1; }
  log "building rdkafka_performance and the mock cluster into $rdperf"
  RDKAFKA_216=${redist:-} bash "$tools/build-rdkafka-perf.sh" "$rdperf" >"$work/build.log" 2>&1 \
    || { cat "$work/build.log" >&2; exit 1; }
fi
[[ -x $perf_bin && -x $mock_bin ]] || { log "no $perf_bin / $mock_bin after the build"; exit 1; }

# --- helpers -----------------------------------------------------------------------------------
# The value of column $2 in the last data row of an rdkafka_performance table in file $1.
column() {
  awk -F'|' -v want="$2" '
    /^\|/ {
      if ($0 ~ /elapsed/) { for (i = 2; i <= NF; i++) { h = $i; gsub(/ /, "", h); idx[h] = i }; next }
      if (want in idx) { v = $(idx[want]); gsub(/ /, "", v); last = v }
    }
    END { print (last == "" ? "n/a" : last) }' "$1"
}

produce() { # bootstrap, output file
  timeout "$phase_timeout" "$perf_bin" -P -t "$topic" -s "$size" -c "$count" -b "$1" \
    -X linger.ms=5 -X batch.size=1000000 -a 1 -u >"$2" 2>&1 || log "producer exited with $? (see the numbers it printed)"
}

consume() { # bootstrap, output file
  timeout "$phase_timeout" "$perf_bin" -C -t "$topic" -p 0 -o beginning -c "$count" -e -b "$1" -u >"$2" 2>&1 \
    || log "consumer exited with $? (see the numbers it printed)"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null \
    || echo $((20000 + RANDOM % 30000))
}

wait_for_port() { # port, pid, seconds
  local deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    # A server that exited stays a zombie until reaped: kill -0 alone would keep waiting.
    kill -0 "$2" 2>/dev/null && ! grep -q "^State:.*Z" "/proc/$2/status" 2>/dev/null || return 1
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.5
  done
  return 1
}

ratio() { awk -v g="$1" -v m="$2" 'BEGIN { if (g ~ /^[0-9.]+$/ && m ~ /^[0-9.]+$/ && m > 0) printf "%.2f", g / m; else print "n/a" }'; }

# --- (a) mock cluster --------------------------------------------------------------------------
log "mock cluster: producing $count x $size bytes (librdkafka $lib)"
setsid "$mock_bin" 1 "$topic" 1 >"$work/mock.out" 2>&1 &
pids+=($!)
mock_bootstrap=
for _ in $(seq 1 100); do
  mock_bootstrap=$(grep -o 'BOOTSTRAP=[^ ]*' "$work/mock.out" 2>/dev/null | head -1 | cut -d= -f2 || true)
  [[ -n $mock_bootstrap ]] && break
  sleep 0.1
done
[[ -n $mock_bootstrap ]] || { cat "$work/mock.out" >&2; log "the mock cluster did not start"; exit 1; }
produce "$mock_bootstrap" "$work/mock-produce.out"
mock_mbs=$(column "$work/mock-produce.out" dr_MB/s)
mock_msgs=$(column "$work/mock-produce.out" dr_m/s)
kill -TERM -- "-${pids[0]}" 2>/dev/null || true
# (The mock cluster's fetch path stalls on large backlogs, so consumption is measured on Gregor only.)

# --- (b) Gregor --------------------------------------------------------------------------------
gregor_mbs=n/a gregor_msgs=n/a gregor_cmbs=n/a gregor_cmsgs=n/a
if [[ -z ${SKIP_GREGOR:-} ]]; then
  port=$(free_port)
  log "Gregor: building src/Gregor.Host (Release)"
  if dotnet build -c Release "$root/src/Gregor.Host" -v q -nologo >"$work/gregor-build.log" 2>&1; then
    log "Gregor: starting on 127.0.0.1:$port"
    setsid dotnet run --no-build -c Release --project "$root/src/Gregor.Host" -- \
      --override "log.dirs=$work/logs" --override "listeners=PLAINTEXT://127.0.0.1:$port" \
      >"$work/gregor.out" 2>&1 &
    pids+=($!)
    if wait_for_port "$port" "${pids[-1]}" 60; then
      log "Gregor: producing $count x $size bytes"
      produce "127.0.0.1:$port" "$work/gregor-produce.out"
      gregor_mbs=$(column "$work/gregor-produce.out" dr_MB/s)
      gregor_msgs=$(column "$work/gregor-produce.out" dr_m/s)
      log "Gregor: consuming them back"
      consume "127.0.0.1:$port" "$work/gregor-consume.out"
      gregor_cmbs=$(column "$work/gregor-consume.out" MB/s)
      gregor_cmsgs=$(column "$work/gregor-consume.out" m/s)
      consumed=$(column "$work/gregor-consume.out" msgs)
      [[ $consumed == "$count" ]] || log "Gregor: consumed $consumed of $count records"
    else
      log "Gregor did not listen on $port within 60 s; its output:"
      tail -20 "$work/gregor.out" >&2
    fi
  else
    log "Gregor.Host does not build here; skipping the Gregor half:"
    grep -E "error" "$work/gregor-build.log" | head -5 >&2 || true
  fi
fi

# --- table -------------------------------------------------------------------------------------
printf '\n%-22s %12s %12s %12s\n' "$count x ${size} B, acks=1" mock Gregor Gregor/mock
printf '%-22s %12s %12s %12s\n' "produce MB/s" "$mock_mbs" "$gregor_mbs" "$(ratio "$gregor_mbs" "$mock_mbs")"
printf '%-22s %12s %12s %12s\n' "produce msgs/s" "$mock_msgs" "$gregor_msgs" "$(ratio "$gregor_msgs" "$mock_msgs")"
printf '%-22s %12s %12s %12s\n' "consume MB/s" "n/a" "$gregor_cmbs" "n/a"
printf '%-22s %12s %12s %12s\n' "consume msgs/s" "n/a" "$gregor_cmsgs" "n/a"
