#!/usr/bin/env bash
# Rotating A/B probe of warm brokers side by side: up to three Runnel builds or settings (a, b, c) and
# Apache Kafka (k), one Java ProducerPerformance run each per round, the order rotating every round.
# For changes too small for `npm run bench` to see through this VM's noise (docs/benchmarks.md, "Runtime probes").
#
#   bench/macro/rotating-probe.sh                       # a = b = c = this checkout's dist/, fsync mode
#   VB="/path/to/other/checkout||" VC="$PWD|UV_THREADPOOL_SIZE=8|--set log.flush.window.ms=1" \
#     ROUNDS=8 ACKS=-1 bench/macro/rotating-probe.sh
#   WORKROOT=/dev/shm bench/macro/rotating-probe.sh     # every broker's data on tmpfs: what the disk's syncs cost
#
# Each variant is "checkout dir|environment (space-separated K=V)|extra `runnel start` args"; the checkout
# must have dist/ built (npm run build). Needs Kafka's jars (scripts/interop/setup.sh --only kafka).
# One line per run: variant, msg/s, broker CPU ticks, system-wide busy ticks, producer CPU ticks
# (1 tick = 10 ms; getrusage of the producer JVM), the ms the broker's threads waited runnable for a core
# (/proc/<pid>/task/*/schedstat), the ms the producer JVM spent in GC pauses (-Xlog:gc), then
# ProducerPerformance's latency summary; then the
# median and the mean CPU per variant. Kafka's first round is cold (JIT).
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=${ROUNDS:-6}; ACKS=${ACKS:-1}; N=${N:-1000000}
# shellcheck source=bench/macro/probe-lib.sh
. "$here/bench/macro/probe-lib.sh"
declare -A SPEC=( [a]="${VA:-$here||}" [b]="${VB:-$here||}" [c]="${VC:-$here||}" )
declare -A PORT=( [a]=19301 [b]=19302 [c]=19303 [k]=19304 )
declare -A PID
WORK=$(mktemp -d "${WORKROOT:-/tmp}/rotating-probe.XXXXXX")   # WORKROOT=/dev/shm: data on tmpfs, syncs free
OUT=$WORK/runs.txt
cleanup() {
  for w in a b c; do [[ -n "${PID[$w]:-}" ]] && kill "${PID[$w]}" 2>/dev/null; done
  [[ -n "${KPID:-}" ]] && kill -- -"$KPID" 2>/dev/null
  wait 2>/dev/null
  [[ -n "${KEEP:-}" ]] || rm -rf "$WORK"   # KEEP=1 keeps the brokers' logs and data
}
trap cleanup EXIT
for w in a b c; do
  IFS='|' read -r dir envs extra <<< "${SPEC[$w]}"
  # shellcheck disable=SC2086
  (runnel_start "$dir" "$envs" "${PORT[$w]}" "$WORK/$w" $extra) > "$WORK/$w.log" 2>&1 &
  PID[$w]=$!
done
setsid bash -c "cd '$here' && exec npx tsx scripts/kafka/kafka.ts start --port ${PORT[k]} --data-dir '$WORK/k'" > "$WORK/k.log" 2>&1 &
KPID=$!
wait_port "${PORT[k]}" 120
sleep 5
PID[k]=$(pgrep -f "kafka.Kafka.*$WORK" | head -1)
[[ -n "${PID[k]}" ]] || { echo "Kafka did not start: $WORK/k.log" >&2; exit 1; }
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat; }
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
# ns each broker thread has spent runnable but not running (schedstat field 2), one "tid ns" line each
runq() { for t in /proc/"$1"/task/*; do echo "${t##*/} $(cut -d' ' -f2 "$t/schedstat" 2>/dev/null)"; done; }
# ms of runqueue wait between two runq snapshots; a thread born mid-run counts whole, one gone counts nothing
runq_ms() { awk 'NR == FNR { a[$1] = $2; next } { s += $2 - ($1 in a ? a[$1] : 0) } END { printf "%d", s / 1e6 }' "$1" "$2"; }
run() { # variant topic
  local w=$1 pid=${PID[$1]}
  rm -f "$WORK/gc.txt"
  create_topic "${PORT[$w]}" "$2"; PRODUCER_GC_LOG=$WORK/gc.txt perf_command "${PORT[$w]}" "$2" "$N" "$ACKS"
  local c0 s0 c1 s1 line
  c0=$(ticks "$pid"); s0=$(busy); runq "$pid" > "$WORK/q0"
  line=$(timeout 300 python3 -c '
import resource, subprocess, sys
p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
lines = [l for l in p.stdout.splitlines() if l.strip()]
print("producer=%d %s" % (round((r.ru_utime + r.ru_stime) * 100), lines[-1] if lines else "no output"))
' "${PERF[@]}")
  c1=$(ticks "$pid"); s1=$(busy); runq "$pid" > "$WORK/q1"
  local rate=${line#*records sent, }; rate=${rate%% records/sec*}
  echo "$w $rate broker=$((c1 - c0)) sys=$((s1 - s0)) ${line%% *} runq=$(runq_ms "$WORK/q0" "$WORK/q1") gc=$(gc_pause_ms "$WORK/gc.txt") :: ${line#*MB/sec), }" | tee -a "$OUT"
}
seqs=("a b c k" "b c k a" "c k a b" "k a b c")
for r in $(seq 1 "$ROUNDS"); do
  for w in ${seqs[$((r % 4))]}; do run "$w" "t$r$w"; done
done
echo
for w in a b c k; do
  grep "^$w " "$OUT" | awk '{split($3,b,"="); split($4,s,"="); split($5,p,"="); split($6,q,"="); split($7,g,"="); print $2, b[2], s[2], p[2], q[2], g[2]}' | sort -n |
    awk -v w="$w" '{m[NR]=$1; br+=$2; sy+=$3; pr+=$4; rq+=$5; gc+=$6} END { if (NR) printf "%s  n=%d  median %.0f msg/s (%.0f–%.0f)  broker %.0f  system %.0f  producer %.0f ticks/run  broker runqueue wait %.0f ms/run  producer GC pauses %.0f ms/run\n",
      w, NR, (NR % 2 ? m[(NR + 1) / 2] : (m[NR / 2] + m[NR / 2 + 1]) / 2), m[1], m[NR], br / NR, sy / NR, pr / NR, rq / NR, gc / NR }'
done
