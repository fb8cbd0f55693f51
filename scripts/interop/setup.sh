#!/usr/bin/env bash
# Installs and caches every interop toolchain piece; idempotent (a second run is a few seconds).
# Everything lands outside the repository:
#   ~/.cache/runnel/kafka-4.4.0/libs          Apache Kafka broker + tools (Maven Central)
#   ~/.cache/runnel/interop/java/target       Java kafka-clients scenario program (Maven)
#   ~/.cache/runnel/interop/streams/target    Kafka Streams EOS word count (kafka-streams, Maven)
#   ~/.cache/runnel/interop/franz-go/         franz-go scenario binary + franz-perf (the bench's
#                                             franz-go load generator, bench/macro/franz-perf) (Go proxy)
#   ~/.cache/runnel/interop/venv/             kafka-python + codecs (PyPI)
#   ~/.cache/runnel/interop/confluent-js/     @confluentinc/kafka-javascript built from its bundled
#                                             librdkafka source, linked to Debian's zlib/ssl/zstd/lz4
#   kcat, librdkafka from Debian (apt-get; needs root, skipped otherwise)
# Usage: scripts/interop/setup.sh [--only kafka,java,streams,go,python,kcat,confluent]
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
CACHE="${RUNNEL_INTEROP_CACHE:-$HOME/.cache/runnel/interop}"
ONLY="kafka,java,streams,go,python,kcat,confluent"
if [[ "${1:-}" == "--only" && -n "${2:-}" ]]; then ONLY="$2"; fi
mkdir -p "$CACHE"
t0=$(date +%s)
step() { printf '[interop-setup t+%ss] %s\n' "$(( $(date +%s) - t0 ))" "$1"; }
want() { [[ ",$ONLY," == *",$1,"* ]]; }

if want kcat; then
  need=()
  command -v kcat >/dev/null || need+=(kcat)
  for p in librdkafka-dev zlib1g-dev libssl-dev libzstd-dev liblz4-dev libsasl2-dev libcurl4-openssl-dev; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
  done
  if ((${#need[@]})); then
    if [[ $(id -u) == 0 ]]; then
      step "apt-get install ${need[*]}"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    else
      step "skipping apt packages (not root): ${need[*]}"
    fi
  fi
fi

if want kafka; then
  step "Apache Kafka from Maven Central"
  node --import tsx scripts/kafka/kafka.ts assemble
fi

if want java; then
  if [[ ! -f "$CACHE/java/target/classes/dev/runnel/interop/Main.class" \
     || test/interop/java/src/main/java/dev/runnel/interop/Main.java -nt "$CACHE/java/target/classes/dev/runnel/interop/Main.class" ]]; then
    step "Java kafka-clients program (mvn -q package)"
    (cd test/interop/java && mvn -q -B package -Dinterop.cache="$CACHE/java")
  fi
fi

if want streams; then
  if [[ ! -f "$CACHE/streams/target/classes/dev/runnel/streams/WordCount.class" \
     || test/interop/streams/src/main/java/dev/runnel/streams/WordCount.java -nt "$CACHE/streams/target/classes/dev/runnel/streams/WordCount.class" ]]; then
    step "Kafka Streams word count (kafka-streams 4.4.0, mvn -q package)"
    (cd test/interop/streams && mvn -q -B package -Dinterop.cache="$CACHE/streams")
  fi
fi

if want go; then
  bin="$CACHE/franz-go/interop-franz"
  stale=0
  for src in test/interop/go/*.go test/interop/go/go.sum; do [[ "$src" -nt "$bin" ]] && stale=1; done
  if [[ ! -x "$bin" || $stale == 1 ]]; then
    step "franz-go program (go build)"
    mkdir -p "$CACHE/franz-go"
    (cd test/interop/go && GOFLAGS=-mod=mod go build -o "$bin" .)
  fi
  perf="$CACHE/franz-go/franz-perf"
  if [[ ! -x "$perf" || bench/macro/franz-perf/main.go -nt "$perf" || bench/macro/franz-perf/go.sum -nt "$perf" ]]; then
    step "franz-perf load generator (go build)"
    mkdir -p "$CACHE/franz-go"
    (cd bench/macro/franz-perf && GOFLAGS=-mod=mod go build -o "$perf" .)
  fi
fi

if want python; then
  if [[ ! -x "$CACHE/venv/bin/python" ]] || ! "$CACHE/venv/bin/python" -c 'import kafka, snappy, lz4, zstandard' 2>/dev/null; then
    step "kafka-python venv (pip)"
    python3 -m venv "$CACHE/venv"
    "$CACHE/venv/bin/pip" install -q --disable-pip-version-check -r test/interop/python/requirements.txt
  fi
fi

if want confluent; then
  dir="$CACHE/confluent-js"
  if [[ ! -f "$dir/node_modules/@confluentinc/kafka-javascript/build/Release/confluent-kafka-javascript.node" ]]; then
    step "@confluentinc/kafka-javascript (build from source, dynamic linking; ~1-3 min)"
    mkdir -p "$dir"
    [[ -f "$dir/package.json" ]] || echo '{"name":"runnel-interop-confluent","private":true}' > "$dir/package.json"
    (cd "$dir" && CKJS_LINKING=dynamic npm install --no-audit --no-fund --loglevel=error \
      --build-from-source=@confluentinc/kafka-javascript @confluentinc/kafka-javascript@1.10.1)
  fi
fi
step "done"
