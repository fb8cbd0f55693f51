// Interop client for Java kafka-clients. Usage: Main <bootstrap> <scenario>
// Prints one JSON line: {"client":"java","scenario":...,"ok":bool,"detail":...}.
// Scenario definitions: test/interop/SCENARIOS.md (same names and checks in every client).
package dev.runnel.interop;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.*;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.RebalanceInProgressException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.*;

public final class Main {
  static final String CLIENT = "java";
  static final int PARTITIONS = 3;
  static String bootstrap;

  public static void main(String[] args) {
    bootstrap = args[0];
    String scenario = args[1];
    String detail;
    boolean ok;
    try {
      detail = switch (scenario) {
        case "metadata" -> metadata();
        case "produce-consume" -> produceConsume();
        case "list-offsets" -> listOffsets();
        case "configs" -> configs();
        case "delete-records" -> deleteRecords();
        case "group" -> group();
        case "describe-state" -> describeState();
        case "consumer-848" -> consumer848();
        case "transactions" -> transactions();
        default -> throw new Unsupported("unknown scenario " + scenario);
      };
      ok = true;
    } catch (Unsupported u) {
      System.out.println(json(scenario, false, u.getMessage(), true));
      System.exit(0);
      return;
    } catch (Throwable t) {
      ok = false;
      Throwable c = t;
      while (c.getCause() != null && c != c.getCause()) c = c.getCause();
      detail = c.getClass().getSimpleName() + ": " + c.getMessage();
    }
    System.out.println(json(scenario, ok, detail, false));
    System.exit(0);
  }

  static final class Unsupported extends Exception { Unsupported(String m) { super(m); } }

  static String json(String scenario, boolean ok, String detail, boolean skipped) {
    return "{\"client\":\"" + CLIENT + "\",\"scenario\":\"" + scenario + "\",\"ok\":" + ok
        + (skipped ? ",\"skipped\":true" : "") + ",\"detail\":\"" + esc(detail) + "\"}";
  }

  static String esc(String s) {
    if (s == null) return "";
    StringBuilder b = new StringBuilder();
    for (char ch : s.toCharArray()) {
      if (ch == '"' || ch == '\\') b.append('\\').append(ch);
      else if (ch < 0x20) b.append(' ');
      else b.append(ch);
    }
    return b.toString();
  }

  static void check(boolean cond, String msg) {
    if (!cond) throw new IllegalStateException(msg);
  }

  static int records() {
    String v = System.getenv("INTEROP_RECORDS");
    return v == null ? 10_000 : Integer.parseInt(v);
  }

  static String topicName(String scenario) {
    return scenario + "-" + CLIENT + "-" + Long.toHexString(System.nanoTime() ^ new Random().nextLong()).substring(0, 8);
  }

  static Admin admin() {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
    return Admin.create(p);
  }

  /** INTEROP_REPLICATION_FACTOR: every scenario topic's RF (default 1; the matrix sets 3 on a 3-node cluster). */
  static short replicationFactor() {
    String v = System.getenv("INTEROP_REPLICATION_FACTOR");
    return v == null || v.isEmpty() ? (short) 1 : Short.parseShort(v);
  }

  static void createTopic(Admin a, String topic, int partitions) throws Exception {
    a.createTopics(List.of(new NewTopic(topic, partitions, replicationFactor()))).all().get(30, TimeUnit.SECONDS);
  }

  static String metadata() throws Exception {
    try (Admin a = admin()) {
      DescribeClusterResult r = a.describeCluster();
      Collection<Node> nodes = r.nodes().get(20, TimeUnit.SECONDS);
      String clusterId = r.clusterId().get(20, TimeUnit.SECONDS);
      check(!nodes.isEmpty(), "no brokers");
      return "brokers=" + nodes.size() + " clusterId=" + clusterId;
    }
  }

  static KafkaProducer<String, String> producer(String compression, String acks) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, compression);
    p.put(ProducerConfig.ACKS_CONFIG, acks);
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, acks.equals("all") ? "true" : "false");
    p.put("max.in.flight.requests.per.connection", acks.equals("all") ? "5" : "1");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "30000");
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "20000");
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    return new KafkaProducer<>(p);
  }

  static KafkaConsumer<String, String> consumer(String group) {
    return consumer(group, "classic");
  }

  static KafkaConsumer<String, String> consumer(String group, String protocol) {
    Properties p = new Properties();
    if (group != null && !protocol.equals("classic")) p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol);
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    if (group != null) p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
    p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "20000");
    return new KafkaConsumer<>(p);
  }

  static String value(int i, String codec, String acks) {
    String base = "v" + i + ":" + codec + ":" + acks + ":";
    StringBuilder b = new StringBuilder(base);
    while (b.length() < 100) b.append((char) ('a' + (i + b.length()) % 26));
    return b.toString();
  }

  static String header(Iterable<Header> hs, String key) {
    for (Header h : hs) if (h.key().equals(key)) return new String(h.value(), StandardCharsets.UTF_8);
    return null;
  }

  static String produceConsume() throws Exception {
    String[] codecs = {"none", "gzip", "snappy", "lz4", "zstd"};
    // acks=0 never first: right after CreateTopics a not-yet-leader broker drops acks=0 records by closing the connection.
    String[] acksList = {"1", "all", "0"};
    int n = records();
    String topic = topicName("pc");
    try (Admin a = admin()) { createTopic(a, topic, PARTITIONS); }
    int segments = codecs.length * acksList.length;
    int per = (n + segments - 1) / segments;
    // expected[p] = list of record indexes in partition p, in produce order
    List<List<String[]>> expected = new ArrayList<>();
    for (int p = 0; p < PARTITIONS; p++) expected.add(new ArrayList<>());
    int i = 0;
    for (String codec : codecs) {
      for (String acks : acksList) {
        try (KafkaProducer<String, String> prod = producer(codec, acks)) {
          List<Future<RecordMetadata>> fs = new ArrayList<>();
          for (int k = 0; k < per && i < n; k++, i++) {
            int p = i % PARTITIONS;
            String v = value(i, codec, acks);
            ProducerRecord<String, String> r = new ProducerRecord<>(topic, p, "k" + i, v);
            r.headers().add("idx", Integer.toString(i).getBytes(StandardCharsets.UTF_8));
            r.headers().add("client", CLIENT.getBytes(StandardCharsets.UTF_8));
            fs.add(prod.send(r));
            expected.get(p).add(new String[] {"k" + i, v, Integer.toString(i)});
          }
          prod.flush();
          for (Future<RecordMetadata> f : fs) f.get(30, TimeUnit.SECONDS);
          // acks=0 completes a send once it is handed to the network layer: give the last request
          // time to leave the socket before close() tears the connection down.
          if (acks.equals("0")) Thread.sleep(500);
        }
      }
    }
    int total = 0;
    try (KafkaConsumer<String, String> c = consumer(null)) {
      for (int p = 0; p < PARTITIONS; p++) {
        TopicPartition tp = new TopicPartition(topic, p);
        c.assign(List.of(tp));
        c.seek(tp, 0);
        List<String[]> exp = expected.get(p);
        int got = 0;
        long deadline = System.currentTimeMillis() + 60_000;
        long lastProgress = System.currentTimeMillis();
        while (got < exp.size() && System.currentTimeMillis() < deadline && System.currentTimeMillis() - lastProgress < 15_000) {
          ConsumerRecords<String, String> polled = c.poll(Duration.ofMillis(500));
          if (!polled.isEmpty()) lastProgress = System.currentTimeMillis();
          for (ConsumerRecord<String, String> r : polled) {
            check(r.offset() == got, "partition " + p + ": offset " + r.offset() + " expected " + got);
            String[] e = exp.get(got);
            check(e[0].equals(r.key()), "partition " + p + " offset " + got + ": key " + r.key() + " expected " + e[0]);
            check(e[1].equals(r.value()), "partition " + p + " offset " + got + ": value mismatch");
            check(e[2].equals(header(r.headers(), "idx")), "partition " + p + " offset " + got + ": header idx mismatch");
            check(CLIENT.equals(header(r.headers(), "client")), "header client mismatch");
            got++;
          }
        }
        check(got == exp.size(), "partition " + p + ": read " + got + " of " + exp.size());
        total += got;
      }
    }
    return "records=" + total + " codecs=" + String.join(",", codecs) + " acks=0,1,-1 partitions=" + PARTITIONS;
  }

  static final long TS0 = 1_700_000_000_000L;

  static String produceTen(String topic) throws Exception {
    try (KafkaProducer<String, String> prod = producer("none", "all")) {
      for (int i = 0; i < 10; i++) {
        prod.send(new ProducerRecord<>(topic, 0, TS0 + i * 1000L, "k" + i, "v" + i)).get(30, TimeUnit.SECONDS);
      }
    }
    return topic;
  }

  static long offsetFor(Admin a, TopicPartition tp, OffsetSpec spec) throws Exception {
    return a.listOffsets(Map.of(tp, spec)).partitionResult(tp).get(20, TimeUnit.SECONDS).offset();
  }

  static String listOffsets() throws Exception {
    String topic = topicName("lo");
    try (Admin a = admin()) {
      createTopic(a, topic, 1);
      produceTen(topic);
      TopicPartition tp = new TopicPartition(topic, 0);
      long earliest = offsetFor(a, tp, OffsetSpec.earliest());
      long latest = offsetFor(a, tp, OffsetSpec.latest());
      long byTs = offsetFor(a, tp, OffsetSpec.forTimestamp(TS0 + 4500));
      long maxTs = offsetFor(a, tp, OffsetSpec.maxTimestamp());
      check(earliest == 0, "earliest=" + earliest);
      check(latest == 10, "latest=" + latest);
      check(byTs == 5, "byTimestamp(ts0+4500)=" + byTs + " expected 5");
      check(maxTs == 9, "maxTimestamp=" + maxTs + " expected 9");
      return "earliest=0 latest=10 byTimestamp=5 maxTimestamp=9";
    }
  }

  static String configs() throws Exception {
    String topic = topicName("cfg");
    try (Admin a = admin()) {
      createTopic(a, topic, 1);
      ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, topic);
      a.incrementalAlterConfigs(Map.of(res, List.of(
          new AlterConfigOp(new ConfigEntry("retention.ms", "123456789"), AlterConfigOp.OpType.SET)))).all().get(20, TimeUnit.SECONDS);
      String got = null;
      long deadline = System.currentTimeMillis() + 10_000;
      while (System.currentTimeMillis() < deadline) {
        Config c = a.describeConfigs(List.of(res)).all().get(20, TimeUnit.SECONDS).get(res);
        ConfigEntry e = c.get("retention.ms");
        got = e == null ? null : e.value();
        if ("123456789".equals(got)) break;
        Thread.sleep(200);
      }
      check("123456789".equals(got), "retention.ms=" + got + " after alter");
      return "retention.ms=123456789 (incrementalAlterConfigs + describeConfigs)";
    }
  }

  static String deleteRecords() throws Exception {
    String topic = topicName("dr");
    try (Admin a = admin()) {
      createTopic(a, topic, 1);
      produceTen(topic);
      TopicPartition tp = new TopicPartition(topic, 0);
      long low = a.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(4))).lowWatermarks().get(tp).get(20, TimeUnit.SECONDS).lowWatermark();
      check(low == 4, "lowWatermark=" + low);
      long earliest = offsetFor(a, tp, OffsetSpec.earliest());
      check(earliest == 4, "earliest after delete=" + earliest);
      try (KafkaConsumer<String, String> c = consumer(null)) {
        c.assign(List.of(tp));
        c.seekToBeginning(List.of(tp));
        long pos = c.position(tp, Duration.ofSeconds(20));
        check(pos == 4, "consumer position at beginning=" + pos);
        List<ConsumerRecord<String, String>> got = new ArrayList<>();
        long deadline = System.currentTimeMillis() + 20_000;
        while (got.size() < 6 && System.currentTimeMillis() < deadline) c.poll(Duration.ofMillis(300)).forEach(got::add);
        check(got.size() == 6 && got.get(0).offset() == 4 && got.get(0).value().equals("v4"), "read after delete: " + got.size() + " records");
      }
      return "lowWatermark=4 earliest=4 first record v4";
    }
  }

  // The log directory (describeLogDirs, describeReplicaLogDirs) and idempotent producer (describeProducers)
  // of a partition after produceTen's ten single-record batches.
  static String describeState() throws Exception {
    String topic = topicName("ds");
    try (Admin a = admin()) {
      createTopic(a, topic, 1);
      produceTen(topic);
      TopicPartition tp = new TopicPartition(topic, 0);
      List<Integer> brokers = new ArrayList<>();
      for (Node n : a.describeCluster().nodes().get(20, TimeUnit.SECONDS)) brokers.add(n.id());
      Map<Integer, Map<String, LogDirDescription>> all = a.describeLogDirs(brokers).allDescriptions().get(20, TimeUnit.SECONDS);
      int leader = a.describeTopics(List.of(topic)).allTopicNames().get(20, TimeUnit.SECONDS).get(topic).partitions().get(0).leader().id();
      String dir = null;
      long size = -1;
      for (Map.Entry<String, LogDirDescription> e : all.get(leader).entrySet()) {
        LogDirDescription d = e.getValue();
        check(d.error() == null, "log dir " + e.getKey() + " error " + d.error());
        check(d.totalBytes().isPresent() && d.usableBytes().isPresent() && d.usableBytes().getAsLong() <= d.totalBytes().getAsLong(),
            "log dir bytes total=" + d.totalBytes() + " usable=" + d.usableBytes());
        ReplicaInfo r = d.replicaInfos().get(tp);
        if (r == null) continue;
        check(dir == null, tp + " in two log dirs");
        check(r.size() > 0 && r.offsetLag() == 0 && !r.isFuture(), "replica " + tp + " size=" + r.size() + " lag=" + r.offsetLag());
        dir = e.getKey();
        size = r.size();
      }
      check(dir != null, tp + " in no log dir of broker " + leader);
      TopicPartitionReplica replica = new TopicPartitionReplica(topic, 0, leader);
      String current = a.describeReplicaLogDirs(List.of(replica)).all().get(20, TimeUnit.SECONDS).get(replica).getCurrentReplicaLogDir();
      check(dir.equals(current), "describeReplicaLogDirs: " + current + ", describeLogDirs: " + dir);
      List<ProducerState> producers = a.describeProducers(List.of(tp)).all().get(20, TimeUnit.SECONDS).get(tp).activeProducers();
      check(producers.size() == 1, "active producers: " + producers);
      ProducerState p = producers.get(0);
      check(p.producerId() >= 0 && p.producerEpoch() >= 0 && p.lastSequence() == 9 && p.currentTransactionStartOffset().isEmpty(),
          "producer state: " + p);
      return "log dir " + dir + " size=" + size + " lag=0; 1 producer, last sequence 9";
    }
  }

  // Transactions (SCENARIOS.md): a transactional producer commits 100 records and the group offset 42,
  // aborts 50 records and the offset 99, commits 100 more; read_committed sees exactly the 200 committed
  // records once each, read_uncommitted all 250; the group's committed offset is 42; describeTransactions
  // and listTransactions show the id; a second producer with the same transactional.id fences the first.
  static String transactions() throws Exception {
    String topic = topicName("txn");
    String group = topic + "-group";
    try (Admin a = admin()) {
      createTopic(a, topic, PARTITIONS);
      Properties p = new Properties();
      p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, topic);
      p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
      p.put(ProducerConfig.ACKS_CONFIG, "all");
      p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
      p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "30000");
      p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
      p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");
      p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
      p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
      TopicPartition p0 = new TopicPartition(topic, 0);
      KafkaProducer<String, String> tp = new KafkaProducer<>(p);
      boolean fenced = false;
      try {
        tp.initTransactions();
        tp.beginTransaction();
        for (int i = 0; i < 100; i++) tp.send(new ProducerRecord<>(topic, i % PARTITIONS, "k" + i, "c" + i));
        tp.sendOffsetsToTransaction(Map.of(p0, new OffsetAndMetadata(42)), new ConsumerGroupMetadata(group));
        tp.commitTransaction();
        tp.beginTransaction();
        for (int i = 0; i < 50; i++) tp.send(new ProducerRecord<>(topic, i % PARTITIONS, "k" + i, "a" + i));
        tp.sendOffsetsToTransaction(Map.of(p0, new OffsetAndMetadata(99)), new ConsumerGroupMetadata(group));
        tp.flush();
        tp.abortTransaction();
        tp.beginTransaction();
        for (int i = 100; i < 200; i++) tp.send(new ProducerRecord<>(topic, i % PARTITIONS, "k" + i, "c" + i));
        tp.commitTransaction();

        List<String> committed = readAll(topic, "read_committed", 200);
        Set<String> expected = new HashSet<>();
        for (int i = 0; i < 200; i++) expected.add("c" + i);
        check(committed.size() == 200 && new HashSet<>(committed).equals(expected),
            "read_committed: " + committed.size() + " records, " + new HashSet<>(committed).size() + " distinct, aborted seen: "
            + committed.stream().filter(v -> v.startsWith("a")).count());
        List<String> all = readAll(topic, "read_uncommitted", 250);
        check(all.size() == 250 && all.stream().filter(v -> v.startsWith("a")).count() == 50, "read_uncommitted: " + all.size() + " records");
        long offset = a.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(20, TimeUnit.SECONDS).get(p0).offset();
        check(offset == 42, "group offset after the aborted sendOffsets: " + offset);
        TransactionDescription d = a.describeTransactions(List.of(topic)).description(topic).get(20, TimeUnit.SECONDS);
        check(d.state() == TransactionState.COMPLETE_COMMIT && d.producerId() >= 0 && d.topicPartitions().isEmpty(), "describeTransactions: " + d);
        boolean listed = a.listTransactions().all().get(20, TimeUnit.SECONDS).stream().anyMatch(l -> l.transactionalId().equals(topic));
        check(listed, "listTransactions does not show " + topic);

        try (KafkaProducer<String, String> successor = new KafkaProducer<>(p)) {
          successor.initTransactions();
          try {
            tp.beginTransaction();
            tp.send(new ProducerRecord<>(topic, 0, "z", "zombie")).get(20, TimeUnit.SECONDS);
            tp.commitTransaction();
          } catch (KafkaException | ExecutionException e) {
            fenced = true;
          }
          successor.beginTransaction();
          successor.send(new ProducerRecord<>(topic, 0, "s", "successor"));
          successor.commitTransaction();
        }
        check(fenced, "the first producer was not fenced by the second");
        List<String> after = readAll(topic, "read_committed", 201);
        check(after.size() == 201 && after.contains("successor") && !after.contains("zombie"), "read_committed after fencing: " + after.size());
      } finally {
        tp.close(Duration.ofSeconds(5));
      }
      return "read_committed 200/200 once each, read_uncommitted 250, group offset 42, fenced by a new producer";
    }
  }

  /** Every value of the topic from the beginning at an isolation level: until `expected` or 20 s, then 1 s more. */
  static List<String> readAll(String topic, String isolation, int expected) throws Exception {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    List<String> values = new ArrayList<>();
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
      List<TopicPartition> parts = new ArrayList<>();
      for (int i = 0; i < PARTITIONS; i++) parts.add(new TopicPartition(topic, i));
      c.assign(parts);
      c.seekToBeginning(parts);
      long deadline = System.currentTimeMillis() + 20_000;
      while (values.size() < expected && System.currentTimeMillis() < deadline) c.poll(Duration.ofMillis(200)).forEach(r -> values.add(r.value()));
      long extra = System.currentTimeMillis() + 1_000;
      while (System.currentTimeMillis() < extra) c.poll(Duration.ofMillis(200)).forEach(r -> values.add(r.value()));
    }
    return values;
  }

  static String group() throws Exception {
    String topic = topicName("grp");
    String groupId = "g-" + topic;
    int perPartition = 100;
    int parts = 6;
    try (Admin a = admin()) { createTopic(a, topic, parts); }
    int members = 3;
    ConcurrentHashMap<String, AtomicInteger> seen = new ConcurrentHashMap<>();
    ConcurrentHashMap<Integer, Set<Integer>> owners = new ConcurrentHashMap<>();
    AtomicBoolean stop = new AtomicBoolean(false);
    AtomicReferenceArray<Set<TopicPartition>> assignments = new AtomicReferenceArray<>(members);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    ExecutorService pool = Executors.newFixedThreadPool(members);
    for (int m = 0; m < members; m++) {
      final int id = m;
      assignments.set(id, Set.of());
      pool.submit(() -> {
        try (KafkaConsumer<String, String> c = consumer(groupId)) {
          c.subscribe(List.of(topic));
          long deadline = System.currentTimeMillis() + 90_000;
          while (!stop.get() && System.currentTimeMillis() < deadline) {
            ConsumerRecords<String, String> rs = c.poll(Duration.ofMillis(200));
            assignments.set(id, new HashSet<>(c.assignment()));
            for (ConsumerRecord<String, String> r : rs) {
              seen.computeIfAbsent(r.value(), k -> new AtomicInteger()).incrementAndGet();
              owners.computeIfAbsent(r.partition(), k -> ConcurrentHashMap.newKeySet()).add(id);
            }
            if (!rs.isEmpty()) c.commitSync(Duration.ofSeconds(20));
          }
        } catch (Throwable t) {
          failure.compareAndSet(null, t);
        }
        return null;
      });
    }
    // Wait until the group is stable (every member has partitions, all 6 assigned) before producing,
    // so no record can be delivered twice by a rebalance.
    long deadline = System.currentTimeMillis() + 45_000;
    while (System.currentTimeMillis() < deadline) {
      int total = 0;
      boolean all = true;
      for (int m = 0; m < members; m++) { total += assignments.get(m).size(); all &= !assignments.get(m).isEmpty(); }
      if (all && total == parts) break;
      Thread.sleep(200);
    }
    Thread.sleep(500);
    StringBuilder split = new StringBuilder();
    int assignedTotal = 0;
    boolean everyMember = true;
    for (int m = 0; m < members; m++) {
      split.append(m == 0 ? "" : "/").append(assignments.get(m).size());
      assignedTotal += assignments.get(m).size();
      everyMember &= !assignments.get(m).isEmpty();
    }
    if (!everyMember || assignedTotal != parts) {
      stop.set(true);
      pool.shutdown();
      pool.awaitTermination(30, TimeUnit.SECONDS);
      throw new IllegalStateException("group never stable within 45 s (split " + split + ")" + (failure.get() == null ? "" : ": " + failure.get()));
    }
    try (KafkaProducer<String, String> prod = producer("none", "all")) {
      for (int p = 0; p < parts; p++) for (int k = 0; k < perPartition; k++) prod.send(new ProducerRecord<>(topic, p, "k", "p" + p + "-" + k));
      prod.flush();
    }
    int expected = parts * perPartition;
    deadline = System.currentTimeMillis() + 60_000;
    while (seen.size() < expected && System.currentTimeMillis() < deadline && failure.get() == null) Thread.sleep(100);
    Thread.sleep(1000); // let the last commits land
    stop.set(true);
    pool.shutdown();
    pool.awaitTermination(30, TimeUnit.SECONDS);
    if (failure.get() != null) throw new RuntimeException(failure.get());
    check(seen.size() == expected, "consumed " + seen.size() + " distinct of " + expected + " (split " + split + ")");
    for (Map.Entry<String, AtomicInteger> e : seen.entrySet()) check(e.getValue().get() == 1, e.getKey() + " consumed " + e.getValue().get() + " times");
    for (Map.Entry<Integer, Set<Integer>> e : owners.entrySet()) check(e.getValue().size() == 1, "partition " + e.getKey() + " consumed by " + e.getValue());
    try (Admin a = admin()) {
      Map<TopicPartition, OffsetAndMetadata> committed = a.listConsumerGroupOffsets(groupId).partitionsToOffsetAndMetadata().get(20, TimeUnit.SECONDS);
      for (int p = 0; p < parts; p++) {
        OffsetAndMetadata om = committed.get(new TopicPartition(topic, p));
        check(om != null && om.offset() == perPartition, "committed offset partition " + p + " = " + (om == null ? "none" : om.offset()));
      }
    }
    return "600 records exactly once, split " + split + ", committed 100 per partition";
  }

  /**
   * consumer-848 (SCENARIOS.md): 3 members with group.protocol=consumer split 6 partitions; 600 records,
   * each committed after processing, consumed exactly once; one member leaves and the others take its
   * partitions over; a second group subscribed by regular expression picks up a topic created later.
   */
  static String consumer848() throws Exception {
    String topic = topicName("c848");
    String groupId = "g-" + topic;
    int parts = 6, perPartition = 100, members = 3;
    try (Admin a = admin()) { createTopic(a, topic, parts); }
    ConcurrentHashMap<String, AtomicInteger> seen = new ConcurrentHashMap<>();
    AtomicBoolean stop = new AtomicBoolean(false);
    AtomicBoolean stopFirst = new AtomicBoolean(false);
    AtomicReferenceArray<Set<TopicPartition>> assignments = new AtomicReferenceArray<>(members);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    ExecutorService pool = Executors.newFixedThreadPool(members);
    long started = System.currentTimeMillis();
    for (int m = 0; m < members; m++) {
      final int id = m;
      assignments.set(id, Set.of());
      pool.submit(() -> {
        try (KafkaConsumer<String, String> c = consumer(groupId, "consumer")) {
          c.subscribe(List.of(topic));
          long deadline = System.currentTimeMillis() + 120_000;
          while (!stop.get() && !(id == 0 && stopFirst.get()) && System.currentTimeMillis() < deadline) {
            ConsumerRecords<String, String> rs = c.poll(Duration.ofMillis(200));
            assignments.set(id, new HashSet<>(c.assignment()));
            for (ConsumerRecord<String, String> r : rs) seen.computeIfAbsent(r.value(), k -> new AtomicInteger()).incrementAndGet();
            if (!rs.isEmpty()) c.commitSync(Duration.ofSeconds(20));
          }
          assignments.set(id, Set.of());
        } catch (Throwable t) {
          failure.compareAndSet(null, t);
        }
        return null;
      });
    }
    String split = awaitSplit(assignments, members, parts, failure, 45_000);
    long stableMs = System.currentTimeMillis() - started;
    try (KafkaProducer<String, String> prod = producer("none", "all")) {
      for (int p = 0; p < parts; p++) for (int k = 0; k < perPartition / 2; k++) prod.send(new ProducerRecord<>(topic, p, "k", "p" + p + "-" + k));
      prod.flush();
    }
    long deadline = System.currentTimeMillis() + 60_000;
    while (seen.size() < parts * perPartition / 2 && System.currentTimeMillis() < deadline && failure.get() == null) Thread.sleep(100);
    // Member 0 leaves (epoch -1): the other two take its partitions over.
    stopFirst.set(true);
    long leftAt = System.currentTimeMillis();
    String after = awaitSplit(assignments, members, parts, failure, 45_000, 0);
    long takeOverMs = System.currentTimeMillis() - leftAt;
    try (KafkaProducer<String, String> prod = producer("none", "all")) {
      for (int p = 0; p < parts; p++) for (int k = perPartition / 2; k < perPartition; k++) prod.send(new ProducerRecord<>(topic, p, "k", "p" + p + "-" + k));
      prod.flush();
    }
    int expected = parts * perPartition;
    deadline = System.currentTimeMillis() + 60_000;
    while (seen.size() < expected && System.currentTimeMillis() < deadline && failure.get() == null) Thread.sleep(100);
    Thread.sleep(1000);
    stop.set(true);
    pool.shutdown();
    pool.awaitTermination(30, TimeUnit.SECONDS);
    if (failure.get() != null) throw new RuntimeException(failure.get());
    check(seen.size() == expected, "consumed " + seen.size() + " distinct of " + expected + " (split " + split + ", after leave " + after + ")");
    for (Map.Entry<String, AtomicInteger> e : seen.entrySet()) check(e.getValue().get() == 1, e.getKey() + " consumed " + e.getValue().get() + " times");
    try (Admin a = admin()) {
      Map<TopicPartition, OffsetAndMetadata> committed = a.listConsumerGroupOffsets(groupId).partitionsToOffsetAndMetadata().get(20, TimeUnit.SECONDS);
      for (int p = 0; p < parts; p++) {
        OffsetAndMetadata om = committed.get(new TopicPartition(topic, p));
        check(om != null && om.offset() == perPartition, "committed offset partition " + p + " = " + (om == null ? "none" : om.offset()));
      }
      ConsumerGroupDescription d = a.describeConsumerGroups(List.of(groupId)).all().get(20, TimeUnit.SECONDS).get(groupId);
      check(d.type() == GroupType.CONSUMER, "group type " + d.type());
    }
    String regex = regexPicksUpNewTopic();
    String conversion = classicGroupConvertsOnline();
    return "split " + split + " in " + stableMs + " ms; after a leave " + after + " in " + takeOverMs + " ms; " + expected + " records once, offsets committed; " + regex + "; " + conversion;
  }

  /** One consumer of the conversion scenario: polls, records what it saw, commits after each batch. */
  static Callable<Void> member(String groupId, String topic, String protocol, AtomicBoolean stop, AtomicReferenceArray<Set<TopicPartition>> assignments,
      int slot, ConcurrentHashMap<String, AtomicInteger> seen, AtomicReference<Throwable> failure) {
    return () -> {
      try (KafkaConsumer<String, String> c = consumer(groupId, protocol)) {
        c.subscribe(List.of(topic));
        long deadline = System.currentTimeMillis() + 180_000;
        while (!stop.get() && System.currentTimeMillis() < deadline) {
          ConsumerRecords<String, String> rs = c.poll(Duration.ofMillis(200));
          assignments.set(slot, new HashSet<>(c.assignment()));
          for (ConsumerRecord<String, String> r : rs) seen.computeIfAbsent(r.value(), k -> new AtomicInteger()).incrementAndGet();
          if (rs.isEmpty()) continue;
          try {
            c.commitSync(Duration.ofSeconds(20));
          } catch (CommitFailedException | RebalanceInProgressException e) {
            // The generation moved under this batch (a rebalance of the conversion): its records come
            // again to whoever owns the partition next. At least once, never lost.
          }
        }
        assignments.set(slot, Set.of());
      } catch (Throwable t) {
        failure.compareAndSet(null, t);
      }
      return null;
    };
  }

  /**
   * KIP-848 online conversion (Kafka 4's group.consumer.migration.policy=bidirectional): a classic consumer
   * (slot 0) and a second classic one (slot 1) share 4 partitions; slot 1 restarts with
   * group.protocol=consumer, so the group is upgraded while slot 0 stays classic and both must hold
   * partitions; then slot 1 leaves, the group goes back to classic and slot 0 takes all 4. 80 records are
   * produced in each of the three phases; every one must be consumed (at least once: a batch whose commit
   * lost a race with the rebalance is consumed again), the final committed offsets cover all of them.
   */
  static String classicGroupConvertsOnline() throws Exception {
    String topic = topicName("c848conv");
    String groupId = "g-" + topic;
    int parts = 4, perPhase = 80;
    try (Admin a = admin()) { createTopic(a, topic, parts); }
    ConcurrentHashMap<String, AtomicInteger> seen = new ConcurrentHashMap<>();
    AtomicReferenceArray<Set<TopicPartition>> assignments = new AtomicReferenceArray<>(new Set[] { Set.of(), Set.of() });
    AtomicReference<Throwable> failure = new AtomicReference<>();
    AtomicBoolean stopAll = new AtomicBoolean(false);
    AtomicBoolean stopClassic1 = new AtomicBoolean(false);
    AtomicBoolean stopModern1 = new AtomicBoolean(false);
    ExecutorService pool = Executors.newFixedThreadPool(3);
    int produced = 0;
    try {
      pool.submit(member(groupId, topic, "classic", stopAll, assignments, 0, seen, failure));
      pool.submit(member(groupId, topic, "classic", stopClassic1, assignments, 1, seen, failure));
      String classicSplit = awaitSplit(assignments, 2, parts, failure, 60_000);
      produced += producePhase(topic, parts, perPhase, "classic");
      awaitSeen(seen, produced, failure);
      // Slot 1 moves to the consumer protocol: it leaves the classic group and rejoins with a heartbeat.
      stopClassic1.set(true);
      awaitSplit(assignments, 2, parts, failure, 60_000, 1);
      long upgradeAt = System.currentTimeMillis();
      pool.submit(member(groupId, topic, "consumer", stopModern1, assignments, 1, seen, failure));
      String mixedSplit = awaitSplit(assignments, 2, parts, failure, 60_000);
      long upgradeMs = System.currentTimeMillis() - upgradeAt;
      GroupType mixedType;
      try (Admin a = admin()) { mixedType = a.describeConsumerGroups(List.of(groupId)).all().get(20, TimeUnit.SECONDS).get(groupId).type(); }
      check(mixedType == GroupType.CONSUMER, "after the upgrade the group type is " + mixedType);
      produced += producePhase(topic, parts, perPhase, "mixed");
      awaitSeen(seen, produced, failure);
      // The last consumer-protocol member leaves: the group is downgraded, slot 0 takes everything.
      stopModern1.set(true);
      long downgradeAt = System.currentTimeMillis();
      String classicAgain = awaitSplit(assignments, 2, parts, failure, 60_000, 1);
      long downgradeMs = System.currentTimeMillis() - downgradeAt;
      produced += producePhase(topic, parts, perPhase, "downgraded");
      awaitSeen(seen, produced, failure);
      Thread.sleep(1000);
      stopAll.set(true);
      pool.shutdown();
      check(pool.awaitTermination(30, TimeUnit.SECONDS), "consumers closed");
      if (failure.get() != null) throw new RuntimeException(failure.get());
      check(seen.size() == produced, "conversion: consumed " + seen.size() + " distinct of " + produced);
      int again = 0;
      for (AtomicInteger n : seen.values()) again += n.get() - 1;
      try (Admin a = admin()) {
        ConsumerGroupDescription d = a.describeConsumerGroups(List.of(groupId)).all().get(20, TimeUnit.SECONDS).get(groupId);
        check(d.type() == GroupType.CLASSIC, "after the downgrade the group type is " + d.type());
        Map<TopicPartition, OffsetAndMetadata> committed = a.listConsumerGroupOffsets(groupId).partitionsToOffsetAndMetadata().get(20, TimeUnit.SECONDS);
        long total = 0;
        for (int p = 0; p < parts; p++) {
          OffsetAndMetadata om = committed.get(new TopicPartition(topic, p));
          total += om == null ? 0 : om.offset();
        }
        check(total == produced, "committed offsets sum to " + total + " of " + produced);
      }
      return "classic group " + classicSplit + " upgraded online (classic + consumer member " + mixedSplit + " in " + upgradeMs
          + " ms, type CONSUMER), downgraded when the consumer member left (" + classicAgain + " in " + downgradeMs + " ms, type CLASSIC), "
          + produced + " records all consumed (" + again + " again after a rebalance), committed offsets complete";
    } finally {
      stopAll.set(true);
      stopClassic1.set(true);
      stopModern1.set(true);
      pool.shutdownNow();
    }
  }

  static int producePhase(String topic, int parts, int count, String phase) throws Exception {
    try (KafkaProducer<String, String> prod = producer("none", "all")) {
      for (int i = 0; i < count; i++) prod.send(new ProducerRecord<>(topic, i % parts, "k", phase + "-" + i));
      prod.flush();
    }
    return count;
  }

  static void awaitSeen(ConcurrentHashMap<String, AtomicInteger> seen, int expected, AtomicReference<Throwable> failure) throws Exception {
    long deadline = System.currentTimeMillis() + 60_000;
    while (seen.size() < expected && System.currentTimeMillis() < deadline && failure.get() == null) Thread.sleep(100);
    if (failure.get() != null) throw new RuntimeException(failure.get());
    check(seen.size() >= expected, "consumed " + seen.size() + " distinct of " + expected + " within 60 s");
  }

  static String awaitSplit(AtomicReferenceArray<Set<TopicPartition>> assignments, int members, int parts,
      AtomicReference<Throwable> failure, long timeoutMs, int... gone) throws Exception {
    Set<Integer> left = new HashSet<>();
    for (int g : gone) left.add(g);
    long deadline = System.currentTimeMillis() + timeoutMs;
    String split = "";
    while (System.currentTimeMillis() < deadline && failure.get() == null) {
      int total = 0;
      boolean all = true;
      Set<TopicPartition> union = new HashSet<>();
      StringBuilder b = new StringBuilder();
      for (int m = 0; m < members; m++) {
        if (left.contains(m)) continue;
        Set<TopicPartition> a = assignments.get(m);
        total += a.size();
        union.addAll(a);
        all &= !a.isEmpty();
        b.append(b.length() == 0 ? "" : "/").append(a.size());
      }
      split = b.toString();
      if (all && total == parts && union.size() == parts) return split;
      Thread.sleep(100);
    }
    throw new IllegalStateException("no full split within " + timeoutMs + " ms (split " + split + ")" + (failure.get() == null ? "" : ": " + failure.get()));
  }

  /** A consumer subscribed to a pattern is assigned a matching topic created after it joined (KIP-848 regex on the broker). */
  static String regexPicksUpNewTopic() throws Exception {
    String prefix = topicName("c848re");
    String groupId = "g-" + prefix;
    try (Admin a = admin()) { createTopic(a, prefix + "-a", 1); }
    try (KafkaConsumer<String, String> c = consumer(groupId, "consumer")) {
      c.subscribe(new SubscriptionPattern(prefix + "-.*"));
      long deadline = System.currentTimeMillis() + 30_000;
      while (c.assignment().size() < 1 && System.currentTimeMillis() < deadline) c.poll(Duration.ofMillis(200));
      check(c.assignment().size() == 1, "regex assignment before: " + c.assignment());
      long created = System.currentTimeMillis();
      try (Admin a = admin()) { createTopic(a, prefix + "-b", 2); }
      deadline = System.currentTimeMillis() + 30_000;
      while (c.assignment().size() < 3 && System.currentTimeMillis() < deadline) c.poll(Duration.ofMillis(200));
      check(c.assignment().size() == 3, "regex assignment after the new topic: " + c.assignment());
      return "regex picked up a new topic in " + (System.currentTimeMillis() - created) + " ms";
    }
  }
}
