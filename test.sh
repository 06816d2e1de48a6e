#!/usr/bin/env bash
# Runs Gregor's tests. The suite drives real Kafka clients besides Confluent.Kafka (kcat,
# kafka-python from Debian's python3-kafka, kafkajs from npm); this script installs whichever
# are missing, then runs `dotnet test`. Extra arguments go to dotnet test (e.g. --filter ...).
# The multi-process cluster tests (Category=MultiProcess: real broker processes, kill -9) are left
# out unless the arguments carry their own --filter or GREGOR_ALL_TESTS=1; .ci/run runs them after
# the default suite with `./test.sh --filter Category=MultiProcess`.
set -euo pipefail
cd "$(dirname "$0")"

missing=()
command -v kcat >/dev/null || missing+=(kcat)
/usr/bin/python3 -c 'import kafka' 2>/dev/null || missing+=(python3-kafka)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${missing[*]} (Debian packages the tests use)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "please install: ${missing[*]} (e.g. sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

clients=tests/Gregor.Broker.Tests/Groups/Clients
if [ ! -d "$clients/node_modules/kafkajs" ]; then
  echo "installing kafkajs (pinned by $clients/package-lock.json)"
  npm ci --prefix "$clients" --no-audit --no-fund --loglevel=error
fi

filter=(--filter "Category!=MultiProcess")
for arg in "$@"; do
  case "$arg" in --filter|--filter=*) filter=() ;; esac
done
[ "${GREGOR_ALL_TESTS:-0}" = 1 ] && filter=()

exec dotnet test Gregor.slnx -c Release ${filter[@]+"${filter[@]}"} "$@"
