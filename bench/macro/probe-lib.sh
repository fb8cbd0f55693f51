# Shared by rotating-probe.sh and thread-profile.sh (sourced, not run): how a probe starts a Runnel
# broker, waits for a port, creates a topic and drives it with Java ProducerPerformance, so both
# probes measure the same broker flags and the same producer settings.
KAFKA_LIBS="${RUNNEL_KAFKA_HOME:-$HOME/.cache/runnel/kafka-4.4.0}/libs/*"

# runnel_start DIR "K=V ..." PORT DATA_DIR [runnel start args...]: execs the broker; run it in the background.
runnel_start() {
  local dir=$1 envs=$2 port=$3 data=$4; shift 4
  cd "$dir" || exit 1
  # shellcheck disable=SC2086
  exec env $envs node --single-threaded-gc --initial-old-space-size=64 dist/src/cli/main.js start \
    --port "$port" --data-dir "$data" --set num.partitions=3 --log-level warn "$@"
}

# wait_port PORT SECONDS: 0 once something accepts on 127.0.0.1:PORT, 1 if nothing did in time.
wait_port() {
  local i
  for ((i = 0; i < $2 * 5; i++)); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}

# create_topic PORT TOPIC: 3 partitions, replication factor 1 (Kafka's num.partitions default is 1).
create_topic() {
  java -Xmx768m -Dlog4j2.level=warn -cp "$KAFKA_LIBS" org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$1" \
    --create --topic "$2" --partitions 3 --replication-factor 1 >/dev/null 2>&1
}

# perf_command PORT TOPIC RECORDS ACKS: sets PERF to the ProducerPerformance command line (100 B records,
# batch.size=16384, linger.ms=5: the Java client's defaults in 4.x, spelled out).
# With PRODUCER_GC_LOG=FILE the producer JVM logs its GC pauses there (gc_pause_ms sums them).
perf_command() {
  PERF=(java -Xmx768m ${PRODUCER_GC_LOG:+"-Xlog:gc:file=$PRODUCER_GC_LOG"} -Dlog4j2.level=warn -cp "$KAFKA_LIBS"
    org.apache.kafka.tools.ProducerPerformance --topic "$2"
    --num-records "$3" --record-size 100 --throughput -1
    --producer-props "bootstrap.servers=127.0.0.1:$1" "acks=$4" batch.size=16384 linger.ms=5)
}

# gc_pause_ms FILE: total ms of the GC pauses a -Xlog:gc file records (0 when there is none).
gc_pause_ms() {
  awk '/Pause/ && match($0, /[0-9.]+ms$/) { s += substr($0, RSTART, RLENGTH - 2) } END { printf "%d", s }' "$1" 2>/dev/null || echo 0
}
