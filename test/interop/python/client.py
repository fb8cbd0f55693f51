"""Interop client: kafka-python (PyPI). Usage: python client.py <bootstrap> <scenario>

Prints one JSON line {"client":"kafka-python","scenario":...,"ok":bool,"detail":...}.
Scenario definitions: test/interop/SCENARIOS.md. The venv (kafka-python, python-snappy, lz4,
zstandard) is created by scripts/interop/setup.sh under ~/.cache/runnel/interop/venv.
"""
import json
import logging
import os
import secrets
import sys
import threading
import time

from kafka import ConsumerRebalanceListener, KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata
from kafka.admin import ConfigResource, ConfigResourceType

CLIENT = "kafka-python"
PARTITIONS = 3
TS0 = 1_700_000_000_000
BOOTSTRAP = []

logging.basicConfig(level=logging.CRITICAL)


class Unsupported(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def topic_name(s):
    return f"{s}-{CLIENT}-{secrets.token_hex(4)}"


def records():
    return int(os.environ.get("INTEROP_RECORDS", "10000"))


def record_value(i, codec, acks):
    s = f"v{i}:{codec}:{acks}:"
    while len(s) < 100:
        s += chr(97 + (i + len(s)) % 26)
    return s


def admin():
    return KafkaAdminClient(bootstrap_servers=BOOTSTRAP, client_id="runnel-interop-python", request_timeout_ms=20000)


def create_topic(a, topic, partitions):
    a.create_topics({topic: {"num_partitions": partitions, "replication_factor": int(os.environ.get("INTEROP_REPLICATION_FACTOR") or "1")}}, wait_for_metadata=True)


def metadata():
    a = admin()
    try:
        c = a.describe_cluster()
        brokers = c.get("brokers", [])
        check(len(brokers) > 0, "no brokers")
        return f"brokers={len(brokers)} clusterId={c.get('cluster_id')} controller={c.get('controller_id')}"
    finally:
        a.close()


def producer(**kw):
    return KafkaProducer(bootstrap_servers=BOOTSTRAP, client_id="runnel-interop-python", linger_ms=5, request_timeout_ms=15000, **kw)


def header(h, k):
    for key, v in h or []:
        if key == k:
            return v.decode()
    return None


def produce_consume():
    n = records()
    topic = topic_name("pc")
    a = admin()
    try:
        create_topic(a, topic, PARTITIONS)
    finally:
        a.close()
    codecs = [None, "gzip", "snappy", "lz4", "zstd"]
    # acks=0 never first: right after CreateTopics a not-yet-leader broker drops acks=0 records.
    acks_list = [1, "all", 0]
    expected = [[] for _ in range(PARTITIONS)]
    per = -(-n // (len(codecs) * len(acks_list)))
    i = 0
    for codec in codecs:
        for acks in acks_list:
            acks_name = "-1" if acks == "all" else str(acks)
            codec_name = codec or "none"
            kw = {"acks": acks, "compression_type": codec, "max_in_flight_requests_per_connection": 1}
            if acks != "all":
                kw["enable_idempotence"] = False
            p = producer(**kw)
            futures = []
            end = min(n, i + per)
            while i < end:
                part = i % PARTITIONS
                v = record_value(i, codec_name, acks_name)
                futures.append(p.send(topic, key=f"k{i}".encode(), value=v.encode(), partition=part,
                                      headers=[("idx", str(i).encode()), ("client", CLIENT.encode())]))
                expected[part].append((f"k{i}", v, str(i)))
                i += 1
            p.flush(timeout=30)
            for f in futures:
                f.get(timeout=30)
            if acks == 0:
                time.sleep(0.3)
            p.close(timeout=10)
    c = KafkaConsumer(bootstrap_servers=BOOTSTRAP, client_id="runnel-interop-python", enable_auto_commit=False,
                      fetch_max_wait_ms=200)
    total = 0
    try:
        for part in range(PARTITIONS):
            tp = TopicPartition(topic, part)
            c.assign([tp])
            c.seek(tp, 0)
            exp = expected[part]
            got = 0
            deadline = time.time() + 60
            last_progress = time.time()
            while got < len(exp) and time.time() < deadline and time.time() - last_progress < 15:
                polled = c.poll(timeout_ms=500)
                if polled:
                    last_progress = time.time()
                for recs in polled.values():
                    for r in recs:
                        check(r.offset == got, f"partition {part}: offset {r.offset} expected {got}")
                        k, v, idx = exp[got]
                        check(r.key.decode() == k, f"partition {part} offset {got}: key {r.key} expected {k}")
                        check(r.value.decode() == v, f"partition {part} offset {got}: value mismatch")
                        check(header(r.headers, "idx") == idx and header(r.headers, "client") == CLIENT,
                              f"partition {part} offset {got}: headers mismatch")
                        got += 1
            check(got == len(exp), f"partition {part}: read {got} of {len(exp)}")
            total += got
    finally:
        c.close()
    return f"records={total} codecs=none,gzip,snappy,lz4,zstd acks=0,1,-1 partitions={PARTITIONS}"


def produce_ten(topic):
    p = producer(acks="all")
    for i in range(10):
        p.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode(), partition=0, timestamp_ms=TS0 + i * 1000).get(timeout=30)
    p.close(timeout=10)


def list_offsets():
    topic = topic_name("lo")
    a = admin()
    try:
        create_topic(a, topic, 1)
    finally:
        a.close()
    produce_ten(topic)
    c = KafkaConsumer(bootstrap_servers=BOOTSTRAP, client_id="runnel-interop-python")
    try:
        tp = TopicPartition(topic, 0)
        earliest = c.beginning_offsets([tp])[tp]
        latest = c.end_offsets([tp])[tp]
        by_ts = c.offsets_for_times({tp: TS0 + 4500})[tp]
        check(earliest == 0 and latest == 10 and by_ts is not None and by_ts.offset == 5,
              f"earliest={earliest} latest={latest} byTimestamp={by_ts}, expected 0/10/5")
        return "earliest=0 latest=10 byTimestamp=5"
    finally:
        c.close()


def configs():
    topic = topic_name("cfg")
    a = admin()
    try:
        create_topic(a, topic, 1)
        a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={"retention.ms": "123456789"})])
        value = None
        deadline = time.time() + 10
        while time.time() < deadline:
            d = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={"retention.ms": None})])
            value = find_config(d, "retention.ms")
            if value == "123456789":
                break
            time.sleep(0.2)
        check(value == "123456789", f"retention.ms={value} after alter ({str(d)[:200]})")
        return "retention.ms=123456789 (alter_configs + describe_configs)"
    finally:
        a.close()


def find_config(obj, key):
    """describe_configs' answer shape changed across kafka-python versions: search it."""
    if isinstance(obj, dict):
        if key in obj:
            v = obj[key]
            if isinstance(v, dict):
                return v.get("value", v.get("config_value"))
            return getattr(v, "value", v)
        for v in obj.values():
            r = find_config(v, key)
            if r is not None:
                return r
    elif isinstance(obj, (list, tuple)):
        if len(obj) >= 2 and obj[0] == key and isinstance(obj[1], str):
            return obj[1]
        for v in obj:
            r = find_config(v, key)
            if r is not None:
                return r
    elif hasattr(obj, "resources"):
        return find_config(obj.resources, key)
    return None


def delete_records():
    topic = topic_name("dr")
    a = admin()
    try:
        create_topic(a, topic, 1)
        produce_ten(topic)
        tp = TopicPartition(topic, 0)
        r = a.delete_records({tp: 4})
        low = r[tp]["low_watermark"] if isinstance(r[tp], dict) else getattr(r[tp], "low_watermark", r[tp])
        check(low == 4, f"lowWatermark={low}")
    finally:
        a.close()
    c = KafkaConsumer(bootstrap_servers=BOOTSTRAP, client_id="runnel-interop-python")
    try:
        earliest = c.beginning_offsets([tp])[tp]
        check(earliest == 4, f"earliest after delete={earliest}")
    finally:
        c.close()
    return "lowWatermark=4 earliest=4"


def group():
    topic = topic_name("grp")
    group_id = f"g-{topic}"
    parts, per_partition, members = 6, 100, 3
    a = admin()
    try:
        create_topic(a, topic, parts)
    finally:
        a.close()
    lock = threading.Lock()
    seen = {}
    owners = {}
    assigned = [0] * members
    stop = threading.Event()
    errors = []

    def run(m):
        try:
            # max_poll_interval_ms doubles as the rebalance timeout: 30 s instead of 300 s, so a member
            # that is slow to rejoin cannot hold the other members' JoinGroup for minutes.
            c = KafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=group_id, enable_auto_commit=False,
                              auto_offset_reset="earliest", fetch_max_wait_ms=200, client_id=f"runnel-interop-python-{m}",
                              max_poll_interval_ms=30000, session_timeout_ms=10000, heartbeat_interval_ms=1000)

            class Listener(ConsumerRebalanceListener):
                def on_partitions_revoked(self, revoked):
                    with lock:
                        assigned[m] = 0

                def on_partitions_assigned(self, new):
                    with lock:
                        assigned[m] = len(new)

            c.subscribe([topic], listener=Listener())
            deadline = time.time() + 120
            while not stop.is_set() and time.time() < deadline:
                batch = c.poll(timeout_ms=200)
                with lock:
                    for recs in batch.values():
                        for r in recs:
                            v = r.value.decode()
                            seen[v] = seen.get(v, 0) + 1
                            owners.setdefault(r.partition, set()).add(m)
                if batch:
                    c.commit()
            c.close()
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(m,), daemon=True) for m in range(members)]
    for t in threads:
        t.start()
    deadline = time.time() + 60
    while time.time() < deadline:
        with lock:
            if all(x > 0 for x in assigned) and sum(assigned) == parts:
                break
        time.sleep(0.2)
    time.sleep(0.5)
    split = "/".join(str(x) for x in assigned)
    if not (all(x > 0 for x in assigned) and sum(assigned) == parts):
        stop.set()
        for t in threads:
            t.join(timeout=30)
        raise AssertionError(f"group never stable within 60 s (split {split})" + (f": {errors[0]}" if errors else ""))
    if os.environ.get("INTEROP_DEBUG"):
        print("split", split, "errors", errors, file=sys.stderr)
    p = producer(acks="all")
    for part in range(parts):
        for j in range(per_partition):
            p.send(topic, key=b"k", value=f"p{part}-{j}".encode(), partition=part)
    p.flush(timeout=30)
    p.close(timeout=10)
    expected = parts * per_partition
    deadline = time.time() + 60
    while time.time() < deadline and not errors:
        with lock:
            if len(seen) >= expected:
                break
        time.sleep(0.1)
    time.sleep(1)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    if errors:
        raise errors[0]
    check(len(seen) == expected, f"consumed {len(seen)} distinct of {expected} (split {split})")
    for v, cnt in seen.items():
        check(cnt == 1, f"{v} consumed {cnt} times")
    for part, o in owners.items():
        check(len(o) == 1, f"partition {part} consumed by {sorted(o)}")
    check("0" not in split.split("/"), f"not split across 3 members: {split}")
    a = admin()
    try:
        offs = a.list_consumer_group_offsets(group_id) if hasattr(a, "list_consumer_group_offsets") else a.list_group_offsets(group_id)[group_id]
    finally:
        a.close()
    for part in range(parts):
        om = offs.get(TopicPartition(topic, part))
        check(om is not None and om.offset == per_partition, f"committed offset partition {part} = {om}")
    return f"{expected} records exactly once, split {split}, committed {per_partition} per partition"


def read_values(topic, isolation, want, partitions=3):
    """Every value of topic from the start at an isolation level: until `want` or 20 s, then 1 s more."""
    c = KafkaConsumer(bootstrap_servers=BOOTSTRAP, client_id="runnel-interop-python", isolation_level=isolation,
                      enable_auto_commit=False, request_timeout_ms=30000)
    try:
        parts = [TopicPartition(topic, p) for p in range(partitions)]
        c.assign(parts)
        c.seek_to_beginning(*parts)
        values = []
        deadline = time.time() + 20
        while len(values) < want and time.time() < deadline:
            for recs in c.poll(timeout_ms=200).values():
                values.extend(r.value.decode() for r in recs)
        extra = time.time() + 1
        while time.time() < extra:
            for recs in c.poll(timeout_ms=200).values():
                values.extend(r.value.decode() for r in recs)
        return values
    finally:
        c.close()


def transactions():
    """SCENARIOS.md transactions: commit 100 (+ group offset 42), abort 50 (+ offset 99), commit 100."""
    topic = topic_name("txn")
    group_id = topic + "-group"
    a = admin()
    try:
        create_topic(a, topic, 3)
    finally:
        a.close()
    p = producer(transactional_id=topic, enable_idempotence=True, acks="all")
    try:
        p.init_transactions()
        p0 = TopicPartition(topic, 0)
        steps = [("c", 0, 100, True, 42), ("a", 0, 50, False, 99), ("c", 100, 200, True, None)]
        for prefix, start, end, commit, offset in steps:
            p.begin_transaction()
            for i in range(start, end):
                p.send(topic, key=f"k{i}".encode(), value=f"{prefix}{i}".encode(), partition=i % 3)
            if offset is not None:
                p.send_offsets_to_transaction({p0: OffsetAndMetadata(offset, "", -1)}, group_id)
            p.flush()
            if commit:
                p.commit_transaction()
            else:
                p.abort_transaction()
    finally:
        p.close(timeout=5)
    committed = read_values(topic, "read_committed", 200)
    expected = {f"c{i}" for i in range(200)}
    check(len(committed) == 200 and set(committed) == expected,
          f"read_committed: {len(committed)} records, {len(set(committed))} distinct, aborted seen {sum(v.startswith('a') for v in committed)}")
    everything = read_values(topic, "read_uncommitted", 250)
    check(len(everything) == 250, f"read_uncommitted: {len(everything)} records")
    a = admin()
    try:
        offs = a.list_consumer_group_offsets(group_id) if hasattr(a, "list_consumer_group_offsets") else a.list_group_offsets(group_id)[group_id]
        om = offs.get(TopicPartition(topic, 0))
        check(om is not None and om.offset == 42, f"group offset after the aborted send_offsets: {om}")
    finally:
        a.close()
    return "read_committed 200/200 once each, read_uncommitted 250, group offset 42"


SCENARIOS = {
    "metadata": metadata, "produce-consume": produce_consume, "list-offsets": list_offsets,
    "configs": configs, "delete-records": delete_records, "group": group, "transactions": transactions,
}


def main():
    global BOOTSTRAP
    BOOTSTRAP = sys.argv[1].split(",")
    scenario = sys.argv[2]
    out = {"client": CLIENT, "scenario": scenario}
    fn = SCENARIOS.get(scenario)
    if fn is None:
        out.update(ok=False, skipped=True, detail="unknown scenario")
    else:
        try:
            out.update(ok=True, detail=fn())
        except Unsupported as e:
            out.update(ok=False, skipped=True, detail=str(e))
        except Exception as e:  # the result line carries the failure
            out.update(ok=False, detail=f"{type(e).__name__}: {e}"[:1000])
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
