#!/usr/bin/env bash
# Where one Runnel broker's CPU and wake-ups go, thread by thread, for one Java ProducerPerformance run
# (after a warm-up run of the same size): per thread of the broker, CPU ticks (10 ms), voluntary and
# involuntary context switches and the ms it waited runnable for a core (/proc/<pid>/task/*/{stat,status,
# schedstat}). The event loop is the thread whose id is the broker's pid; libuv's pool threads are the
# ones with thousands of voluntary switches in fsync mode. docs/benchmarks.md, "Runtime probes".
#
#   bench/macro/thread-profile.sh                                  # fsync mode, data under /tmp
#   MODE=none WORKROOT=/dev/shm N=6000000 bench/macro/thread-profile.sh   # tmpfs: syncs cost nothing
#
# Needs dist/ built (npm run build) and Kafka's jars (scripts/interop/setup.sh --only kafka).
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=bench/macro/probe-lib.sh
. "$here/bench/macro/probe-lib.sh"
MODE=${MODE:-fsync}; N=${N:-6000000}; ACKS=${ACKS:-1}; PORT=${PORT:-19311}
WORK=$(mktemp -d "${WORKROOT:-/tmp}/thread-profile.XXXXXX")
cleanup() { [[ -n "${PID:-}" ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
(runnel_start "$here" "" "$PORT" "$WORK/data" --set "log.durability.mode=$MODE") > "$WORK/log" 2>&1 &
PID=$!
wait_port "$PORT" 10 || { echo "the broker did not start:" >&2; cat "$WORK/log" >&2; exit 1; }
# one "tid utime stime voluntary involuntary runq_ns" line per thread
snap() {
  for t in /proc/"$PID"/task/*; do
    echo "${t##*/} $(awk '{print $14, $15}' "$t/stat") $(awk '/ctxt_switches/{printf "%s ", $2}' "$t/status") $(cut -d' ' -f2 "$t/schedstat")"
  done 2>/dev/null
}
produce() { create_topic "$PORT" "$1"; perf_command "$PORT" "$1" "$N" "$ACKS"; "${PERF[@]}" 2>/dev/null | tail -1; }
echo "warm-up: $(produce warm | cut -d, -f1-2)"
snap > "$WORK/s0"
echo "measured ($MODE, data under ${WORKROOT:-/tmp}): $(produce measured | cut -d, -f1-4)"
snap > "$WORK/s1"
# a thread born mid-run counts whole, one gone counts nothing (as rotating-probe.sh's runqueue sums)
awk -v main="$PID" 'NR == FNR { for (i = 2; i <= 6; i++) a[$1, i] = $i; next }
  { for (i = 2; i <= 6; i++) d[i] = $i - (($1, i) in a ? a[$1, i] : 0)
    if (d[2] + d[3] + d[4] + d[5] > 0) printf "%-8s %-10s cpu=%5d ticks  voluntary=%7d  involuntary=%7d  runqueue=%6.0f ms\n",
      $1, ($1 == main ? "event-loop" : "thread"), d[2] + d[3], d[4], d[5], d[6] / 1e6 }' "$WORK/s0" "$WORK/s1" | sort -t= -k2 -nr
