// Java kafka-clients programs for the standalone fault tests (run as a single-file source program with
// the interop cache's jars on the class path: `java -cp '<deps>/*' StandaloneKill.java <mode> ...`).
//
//   produce <bootstrap> <topic> <partitions> <count> <burst>
//     Creates the topic (AdminClient) and sends records seq = 0..count-1 with a producer left at its
//     defaults (4.x: enable.idempotence=true, acks=all, retries=MAX, max.in.flight=5). Record seq goes
//     to partition seq % partitions, key `k<seq>`, value `seq=<seq>;` + padding, header `seq=<seq>`.
//     After every <burst> sends it sleeps 1 ms, so the stream lasts long enough to be killed mid-way.
//     Prints `ACK <seq> <partition> <offset>` per acknowledged record, `ERR <seq> <exception>` per failed
//     one, then `RETRIES <record-retry-total>` and `DONE <acked> <failed>`. Output is flushed every 10 ms (the test kills on ACK counts).
//   dump <bootstrap> <topic>
//     Reads every partition from its earliest offset to its end offset with an assigned consumer (no
//     group) and prints `REC <partition> <offset> <seq-header> <key> <value-seq>` per record, then
//     `END <partition> <earliest> <end>` per partition.
//   state <bootstrap>
//     Prints the observable state of every non-internal topic for the restart test: `CONFIG <topic>
//     <name>=<value>` (non-default ones), and per partition `PART <topic> <p> <earliest> <end>
//     <maxTimestampOffset> <count> <sha256 of offset|timestamp|type|key|value|headers of every record>`
//     and `TS <topic> <p> <timestamp> <offset>` for offsetsForTimes at the first, middle and last
//     record's timestamp; then `GROUP <group> <topic> <p> <committed>` for every group's offsets.
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.*;

public class StandaloneKill {
  static final long WAIT_MS = 120_000;
  static final PrintStream out = new PrintStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16), false, StandardCharsets.UTF_8);

  public static void main(String[] args) throws Exception {
    ScheduledExecutorService flusher = Executors.newSingleThreadScheduledExecutor(r -> { Thread t = new Thread(r); t.setDaemon(true); return t; });
    flusher.scheduleAtFixedRate(() -> { synchronized (out) { out.flush(); } }, 10, 10, TimeUnit.MILLISECONDS);
    int code;
    switch (args[0]) {
      case "produce": code = produce(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]), Integer.parseInt(args[5])); break;
      case "dump": code = dump(args[1], args[2]); break;
      case "state": code = state(args[1]); break;
      default: throw new IllegalArgumentException("unknown mode " + args[0]);
    }
    synchronized (out) { out.flush(); }
    System.exit(code);
  }

  static void line(String s) { synchronized (out) { out.println(s); } }

  static Properties common(String bootstrap) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    // -Dkafka.<name>=<value> sets a client property (for experiments; the tests pass none).
    for (String name : System.getProperties().stringPropertyNames()) {
      if (name.startsWith("kafka.")) p.put(name.substring(6), System.getProperty(name));
    }
    return p;
  }

  static int produce(String bootstrap, String topic, int partitions, int count, int burst) throws Exception {
    try (Admin admin = Admin.create(common(bootstrap))) {
      try {
        admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(WAIT_MS, TimeUnit.MILLISECONDS);
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) throw e;
      }
    }
    Properties p = common(bootstrap);
    p.put("client.id", "standalone-kill-java");
    p.put("key.serializer", StringSerializer.class.getName());
    p.put("value.serializer", StringSerializer.class.getName());
    AtomicInteger acked = new AtomicInteger();
    AtomicInteger failed = new AtomicInteger();
    String padding = "x".repeat(80);
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      for (int seq = 0; seq < count; seq++) {
        final int s = seq;
        ProducerRecord<String, String> r = new ProducerRecord<>(topic, seq % partitions, "k" + seq, "seq=" + seq + ";" + padding);
        r.headers().add("seq", Integer.toString(seq).getBytes(StandardCharsets.UTF_8));
        producer.send(r, (md, e) -> {
          if (e == null) { acked.incrementAndGet(); line("ACK " + s + " " + md.partition() + " " + md.offset()); }
          else { failed.incrementAndGet(); line("ERR " + s + " " + e.toString().replace('\n', ' ')); }
        });
        if (seq % burst == burst - 1) Thread.sleep(1);
      }
      producer.flush();
      line("RETRIES " + metric(producer, "record-retry-total"));
    }
    line("DONE " + acked.get() + " " + failed.get());
    return 0;
  }

  /** A producer-metrics total (e.g. record-retry-total: batches sent again after the connection broke). */
  static long metric(KafkaProducer<?, ?> producer, String name) {
    for (Map.Entry<org.apache.kafka.common.MetricName, ? extends org.apache.kafka.common.Metric> e : producer.metrics().entrySet()) {
      if (e.getKey().name().equals(name) && e.getKey().group().equals("producer-metrics")) return ((Number) e.getValue().metricValue()).longValue();
    }
    return -1;
  }

  static KafkaConsumer<byte[], byte[]> consumer(String bootstrap) {
    Properties p = common(bootstrap);
    p.put("key.deserializer", ByteArrayDeserializer.class.getName());
    p.put("value.deserializer", ByteArrayDeserializer.class.getName());
    p.put("enable.auto.commit", "false");
    p.put("auto.offset.reset", "earliest");
    p.put("max.poll.records", "5000");
    return new KafkaConsumer<>(p);
  }

  interface RecordSink { void accept(ConsumerRecord<byte[], byte[]> r) throws Exception; }

  /** Reads tp from its beginning to its end offset (bounded by WAIT_MS); returns {earliest, end}. */
  static long[] readAll(KafkaConsumer<byte[], byte[]> c, TopicPartition tp, RecordSink sink) throws Exception {
    c.assign(List.of(tp));
    long earliest = c.beginningOffsets(List.of(tp)).get(tp);
    long end = c.endOffsets(List.of(tp)).get(tp);
    c.seek(tp, earliest);
    long deadline = System.currentTimeMillis() + WAIT_MS;
    while (c.position(tp) < end) {
      if (System.currentTimeMillis() > deadline) throw new IllegalStateException("read of " + tp + " stalled at " + c.position(tp) + " < " + end);
      for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(Long.getLong("pollMs", 200)))) if (r.offset() < end) sink.accept(r);
    }
    return new long[] { earliest, end };
  }

  static String str(byte[] b) { return b == null ? "null" : new String(b, StandardCharsets.UTF_8); }

  static int dump(String bootstrap, String topic) throws Exception {
    try (KafkaConsumer<byte[], byte[]> c = consumer(bootstrap)) {
      int partitions = c.partitionsFor(topic, Duration.ofMillis(WAIT_MS)).size();
      for (int part = 0; part < partitions; part++) {
        TopicPartition tp = new TopicPartition(topic, part);
        long[] range = readAll(c, tp, r -> {
          Header h = r.headers().lastHeader("seq");
          String value = str(r.value());
          String valueSeq = value.startsWith("seq=") ? value.substring(4, value.indexOf(';')) : "?";
          line("REC " + r.partition() + " " + r.offset() + " " + (h == null ? "none" : str(h.value())) + " " + str(r.key()) + " " + valueSeq);
        });
        line("END " + part + " " + range[0] + " " + range[1]);
      }
    }
    return 0;
  }

  static int state(String bootstrap) throws Exception {
    try (Admin admin = Admin.create(common(bootstrap)); KafkaConsumer<byte[], byte[]> c = consumer(bootstrap)) {
      SortedSet<String> topics = new TreeSet<>(admin.listTopics().names().get(WAIT_MS, TimeUnit.MILLISECONDS));
      topics.removeIf(t -> t.startsWith("__"));
      Map<String, TopicDescription> described = admin.describeTopics(topics).allTopicNames().get(WAIT_MS, TimeUnit.MILLISECONDS);
      List<ConfigResource> resources = new ArrayList<>();
      for (String t : topics) resources.add(new ConfigResource(ConfigResource.Type.TOPIC, t));
      Map<ConfigResource, Config> configs = admin.describeConfigs(resources).all().get(WAIT_MS, TimeUnit.MILLISECONDS);
      for (String t : topics) {
        SortedMap<String, String> set = new TreeMap<>();
        for (ConfigEntry e : configs.get(new ConfigResource(ConfigResource.Type.TOPIC, t)).entries()) {
          if (e.source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG) set.put(e.name(), e.value());
        }
        for (Map.Entry<String, String> e : set.entrySet()) line("CONFIG " + t + " " + e.getKey() + "=" + e.getValue());
        stateTopic(admin, c, t, described.get(t).partitions().size());
      }
      for (GroupListing g : admin.listGroups().all().get(WAIT_MS, TimeUnit.MILLISECONDS)) {
        Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(g.groupId()).partitionsToOffsetAndMetadata().get(WAIT_MS, TimeUnit.MILLISECONDS);
        SortedMap<String, Long> sorted = new TreeMap<>();
        for (Map.Entry<TopicPartition, OffsetAndMetadata> e : offsets.entrySet()) sorted.put(e.getKey().topic() + " " + e.getKey().partition(), e.getValue().offset());
        for (Map.Entry<String, Long> e : sorted.entrySet()) line("GROUP " + g.groupId() + " " + e.getKey() + " " + e.getValue());
      }
    }
    return 0;
  }

  /** One topic: every partition read at once, then max-timestamp and offsetsForTimes per partition. */
  static void stateTopic(Admin admin, KafkaConsumer<byte[], byte[]> c, String topic, int partitions) throws Exception {
    List<TopicPartition> tps = new ArrayList<>();
    for (int part = 0; part < partitions; part++) tps.add(new TopicPartition(topic, part));
    c.assign(tps);
    Map<TopicPartition, Long> earliest = c.beginningOffsets(tps);
    Map<TopicPartition, Long> end = c.endOffsets(tps);
    Map<TopicPartition, MessageDigest> sha = new HashMap<>();
    Map<TopicPartition, List<Long>> timestamps = new HashMap<>();
    for (TopicPartition tp : tps) { c.seek(tp, earliest.get(tp)); sha.put(tp, MessageDigest.getInstance("SHA-256")); timestamps.put(tp, new ArrayList<>()); }
    long deadline = System.currentTimeMillis() + WAIT_MS;
    while (tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
      if (System.currentTimeMillis() > deadline) throw new IllegalStateException("read of " + topic + " stalled");
      for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
        TopicPartition tp = new TopicPartition(r.topic(), r.partition());
        if (r.offset() >= end.get(tp)) continue;
        StringBuilder b = new StringBuilder();
        b.append(r.offset()).append('|').append(r.timestamp()).append('|').append(r.timestampType()).append('|');
        b.append(r.key() == null ? "null" : Base64.getEncoder().encodeToString(r.key())).append('|');
        b.append(r.value() == null ? "null" : Base64.getEncoder().encodeToString(r.value()));
        for (Header h : r.headers()) b.append('|').append(h.key()).append('=').append(h.value() == null ? "null" : Base64.getEncoder().encodeToString(h.value()));
        sha.get(tp).update(b.append('\n').toString().getBytes(StandardCharsets.UTF_8));
        timestamps.get(tp).add(r.timestamp());
      }
    }
    Map<TopicPartition, OffsetSpec> maxSpec = new HashMap<>();
    for (TopicPartition tp : tps) maxSpec.put(tp, OffsetSpec.maxTimestamp());
    ListOffsetsResult max = admin.listOffsets(maxSpec);
    for (int k = 0; k < 3; k++) {
      Map<TopicPartition, Long> query = new HashMap<>();
      for (TopicPartition tp : tps) {
        List<Long> ts = timestamps.get(tp);
        if (!ts.isEmpty()) query.put(tp, ts.get(k == 0 ? 0 : k == 1 ? ts.size() / 2 : ts.size() - 1));
      }
      Map<TopicPartition, OffsetAndTimestamp> found = query.isEmpty() ? Map.of() : c.offsetsForTimes(query);
      for (TopicPartition tp : tps) {
        if (!query.containsKey(tp)) continue;
        OffsetAndTimestamp f = found.get(tp);
        line("TS " + topic + " " + tp.partition() + " " + query.get(tp) + " " + (f == null ? "none" : Long.toString(f.offset())));
      }
    }
    for (TopicPartition tp : tps) {
      long maxOffset = max.partitionResult(tp).get(WAIT_MS, TimeUnit.MILLISECONDS).offset();
      line("PART " + topic + " " + tp.partition() + " " + earliest.get(tp) + " " + end.get(tp) + " " + maxOffset + " " + timestamps.get(tp).size() + " " + HexFormat.of().formatHex(sha.get(tp).digest()));
    }
  }
}
