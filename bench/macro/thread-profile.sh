#!/usr/bin/env bash
# Where one Runnel broker's CPU and wake-ups go, thread by thread, for one Java ProducerPerformance run
# (after a warm-up run of the same size): per thread of the broker, CPU ticks (10 ms), voluntary and
# involuntary context switches and the ms it waited runnable for a core (/proc/<pid>/task/*/{stat,status,
# schedstat}). The event loop is the thread whose id is the broker's pid; libuv's pool threads are the
# ones with thousands of voluntary switches in fsync mode. docs/architecture.md, "Runtime".
#
#   bench/macro/thread-profile.sh                                  # fsync mode, data under /tmp
#   MODE=none WORKROOT=/dev/shm N=6000000 bench/macro/thread-profile.sh   # tmpfs: syncs cost nothing
#
# Needs dist/ built (npm run build) and Kafka's jars (scripts/interop/setup.sh --only kafka).
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
MODE=${MODE:-fsync}; N=${N:-6000000}; ACKS=${ACKS:-1}; PORT=${PORT:-19311}
LIBS="${RUNNEL_KAFKA_HOME:-$HOME/.cache/runnel/kafka-4.1.1}/libs/*"
WORK=$(mktemp -d "${WORKROOT:-/tmp}/thread-profile.XXXXXX")
cleanup() { [[ -n "${PID:-}" ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
(cd "$here" && exec node --single-threaded-gc --initial-old-space-size=64 dist/src/cli/main.js start --port "$PORT" \
  --data-dir "$WORK/data" --set num.partitions=3 --set "log.durability.mode=$MODE" --log-level warn) > "$WORK/log" 2>&1 &
PID=$!
for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && break; sleep 0.2; done
# one "tid utime stime voluntary involuntary runq_ns" line per thread
snap() {
  for t in /proc/"$PID"/task/*; do
    echo "${t##*/} $(awk '{print $14, $15}' "$t/stat") $(awk '/ctxt_switches/{printf "%s ", $2}' "$t/status") $(cut -d' ' -f2 "$t/schedstat")"
  done 2>/dev/null | sort
}
produce() {
  java -Xmx768m -Dlog4j2.level=warn -cp "$LIBS" org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$PORT" \
    --create --topic "$1" --partitions 3 --replication-factor 1 >/dev/null 2>&1
  java -Xmx768m -Dlog4j2.level=warn -cp "$LIBS" org.apache.kafka.tools.ProducerPerformance --topic "$1" --num-records "$N" \
    --record-size 100 --throughput -1 --producer-props "bootstrap.servers=127.0.0.1:$PORT" "acks=$ACKS" batch.size=16384 linger.ms=5 \
    2>/dev/null | tail -1
}
echo "warm-up: $(produce warm | cut -d, -f1-2)"
snap > "$WORK/s0"
echo "measured ($MODE, data under ${WORKROOT:-/tmp}): $(produce measured | cut -d, -f1-4)"
snap > "$WORK/s1"
join "$WORK/s0" "$WORK/s1" | awk -v main="$PID" '
  { cpu = $7 + $8 - $2 - $3; vol = $9 - $4; inv = $10 - $5; rq = ($11 - $6) / 1e6
    if (cpu + vol + inv > 0) printf "%-8s %-10s cpu=%5d ticks  voluntary=%7d  involuntary=%7d  runqueue=%6.0f ms\n",
      $1, ($1 == main ? "event-loop" : "thread"), cpu, vol, inv, rq }' | sort -t= -k2 -nr
