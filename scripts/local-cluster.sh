#!/usr/bin/env bash
# A 3-broker Gregor cluster on this machine: three combined-mode nodes (broker and controller in
# one process, KRaft style) on loopback, each with its own data directory and log file.
#   scripts/local-cluster.sh start  [dir]   build once, start the three nodes, print the bootstrap string
#   scripts/local-cluster.sh stop   [dir]   SIGTERM each node (clean shutdown), SIGKILL after STOP_TIMEOUT s
#   scripts/local-cluster.sh status [dir]   which nodes run, and what Metadata says
# dir defaults to ./cluster-data. Node n listens for clients on BASE_PORT + n*10000 + 92 and for
# its controller quorum on BASE_PORT + n*10000 + 93 (BASE_PORT=9000 gives 19092/19093,
# 29092/29093, 39092/39093). Environment: BASE_PORT, NODES (default 3), STOP_TIMEOUT (default 30),
# START_TIMEOUT (default 60), NO_BUILD=1 to use the existing Release build, and GREGOR_OVERRIDES
# ("k=v k=v", passed to every node as --override).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CMD="${1:-}"
DIR="${2:-./cluster-data}"
BASE_PORT="${BASE_PORT:-9000}"
NODES="${NODES:-3}"
STOP_TIMEOUT="${STOP_TIMEOUT:-30}"
START_TIMEOUT="${START_TIMEOUT:-60}"
HOST=127.0.0.1

usage() { echo "usage: $0 start|stop|status [dir]" >&2; exit 2; }
[ -n "$CMD" ] || usage
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"

client_port() { echo $((BASE_PORT + $1 * 10000 + 92)); }
controller_port() { echo $((BASE_PORT + $1 * 10000 + 93)); }
pid_of() { local f="$DIR/node-$1.pid"; [ -f "$f" ] && cat "$f" || true; }
running() { local pid; pid=$(pid_of "$1"); [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

bootstrap() {
  local n s=""
  for n in $(seq 1 "$NODES"); do s="${s:+$s,}$HOST:$(client_port "$n")"; done
  echo "$s"
}

voters() {
  local n s=""
  for n in $(seq 1 "$NODES"); do s="${s:+$s,}$n@$HOST:$(controller_port "$n")"; done
  echo "$s"
}

# How many brokers node n's Metadata lists (0 when it does not answer).
brokers_seen() {
  command -v kcat >/dev/null || { echo "kcat is needed (apt-get install kcat)" >&2; exit 1; }
  { kcat -b "$HOST:$(client_port "$1")" -L -m 3 2>/dev/null || true; } | awk '/^ *[0-9]+ brokers:/ { print $1; found=1 } END { if (!found) print 0 }'
}

host_dll() {
  local d="$ROOT/src/Gregor.Host/bin/Release/net10.0"
  # The assembly is named `gregor`; Gregor.Host.dll is accepted should that change.
  for f in "$d/gregor.dll" "$d/Gregor.Host.dll"; do [ -f "$f" ] && { echo "$f"; return; }; done
  echo "no Release build of src/Gregor.Host in $d" >&2; exit 1
}

stop_nodes() {
  local n pid waited
  for n in $(seq 1 "$NODES"); do
    if running "$n"; then kill -TERM "$(pid_of "$n")"; fi
  done
  for n in $(seq 1 "$NODES"); do
    pid=$(pid_of "$n")
    if [ -n "$pid" ]; then
      waited=0
      while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt $((STOP_TIMEOUT * 10)) ]; do sleep 0.1; waited=$((waited + 1)); done
      if kill -0 "$pid" 2>/dev/null; then
        echo "node $n (pid $pid) did not stop within ${STOP_TIMEOUT}s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
      else
        echo "node $n stopped"
      fi
      rm -f "$DIR/node-$n.pid"
    fi
  done
}

case "$CMD" in
  start)
    for n in $(seq 1 "$NODES"); do
      if running "$n"; then echo "node $n already runs (pid $(pid_of "$n")); stop it first: $0 stop $DIR" >&2; exit 1; fi
    done
    if [ "${NO_BUILD:-0}" != 1 ]; then
      echo "building src/Gregor.Host (Release)"
      dotnet build "$ROOT/src/Gregor.Host" -c Release -v q -nologo >"$DIR/build.log" 2>&1 || { tail -30 "$DIR/build.log"; exit 1; }
    fi
    DLL=$(host_dll)
    overrides=()
    for kv in ${GREGOR_OVERRIDES:-}; do overrides+=(--override "$kv"); done
    for n in $(seq 1 "$NODES"); do
      cat >"$DIR/node-$n.properties" <<PROPS
node.id=$n
process.roles=broker,controller
listeners=PLAINTEXT://$HOST:$(client_port "$n"),CONTROLLER://$HOST:$(controller_port "$n")
advertised.listeners=PLAINTEXT://$HOST:$(client_port "$n")
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
controller.quorum.voters=$(voters)
log.dirs=$DIR/node-$n
default.replication.factor=$((NODES < 3 ? NODES : 3))
offsets.topic.replication.factor=$((NODES < 3 ? NODES : 3))
transaction.state.log.replication.factor=$((NODES < 3 ? NODES : 3))
min.insync.replicas=$((NODES < 2 ? 1 : 2))
PROPS
      # setsid: the nodes outlive this shell and a Ctrl+C in it.
      setsid dotnet "$DLL" "$DIR/node-$n.properties" ${overrides[@]+"${overrides[@]}"} >"$DIR/node-$n.log" 2>&1 </dev/null &
      echo $! >"$DIR/node-$n.pid"
      echo "node $n: pid $!, clients $HOST:$(client_port "$n"), controller $HOST:$(controller_port "$n"), log $DIR/node-$n.log"
    done
    deadline=$((SECONDS + START_TIMEOUT))
    while :; do
      ready=0; detail=""
      for n in $(seq 1 "$NODES"); do
        if ! running "$n"; then
          echo "node $n exited during start-up; the end of its log:" >&2
          tail -20 "$DIR/node-$n.log" >&2
          stop_nodes >/dev/null; exit 1
        fi
        seen=$(brokers_seen "$n")
        detail="$detail node $n sees $seen;"
        [ "$seen" = "$NODES" ] && ready=$((ready + 1))
      done
      [ "$ready" = "$NODES" ] && break
      if [ "$SECONDS" -ge "$deadline" ]; then
        echo "the cluster did not form within ${START_TIMEOUT}s (brokers in each node's Metadata:$detail want $NODES); logs in $DIR" >&2
        stop_nodes >/dev/null; exit 1
      fi
      sleep 0.5
    done
    echo "cluster of $NODES brokers is up; bootstrap servers:"
    bootstrap
    ;;
  stop)
    stop_nodes
    ;;
  status)
    any=0
    for n in $(seq 1 "$NODES"); do
      if running "$n"; then any=1; echo "node $n: running (pid $(pid_of "$n")), its Metadata lists $(brokers_seen "$n") brokers"; else echo "node $n: stopped"; fi
    done
    [ "$any" = 1 ] && echo "bootstrap servers: $(bootstrap)"
    ;;
  *) usage ;;
esac
