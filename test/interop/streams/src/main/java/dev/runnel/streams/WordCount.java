package dev.runnel.streams;

import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.Stores;

/**
 * Kafka Streams word count with processing.guarantee=exactly_once_v2 (issue #24), driven by
 * test/faults/streams-eos.test.ts:
 *   produce <bootstrap> <inputs> <replicationFactor>   creates wc-in / wc-out and writes the input lines
 *   run <bootstrap> <inputs> <timeoutSec>              runs the topology until wc-out, read at
 *                                                      read_committed, holds every word's exact count
 * Line i is "w(i % 1009) v(i % 997)": each of the 2,006 words has a count known in advance, and any record
 * processed twice (or an aborted transaction's output read) shows up as a count above it. The last line
 * printed is one JSON object {"client","scenario","ok","detail"} like the interop clients'.
 */
public final class WordCount {
  private static final String IN = "wc-in";
  private static final String OUT = "wc-out";
  private static final int PARTITIONS = 3;

  public static void main(String[] args) throws Exception {
    String mode = args[0];
    String bootstrap = args[1];
    int inputs = Integer.parseInt(args[2]);
    try {
      String detail = mode.equals("produce") ? produce(bootstrap, inputs, Short.parseShort(args[3])) : run(bootstrap, inputs, Integer.parseInt(args[3]));
      result(mode, true, detail);
    } catch (Exception e) {
      result(mode, false, e.toString());
    }
    System.exit(0);
  }

  static String line(int i) {
    return "w" + (i % 1009) + " v" + (i % 997);
  }

  static Map<String, Long> expected(int inputs) {
    Map<String, Long> counts = new HashMap<>();
    for (int i = 0; i < inputs; i++) {
      for (String w : line(i).split(" ")) counts.merge(w, 1L, Long::sum);
    }
    return counts;
  }

  static String produce(String bootstrap, int inputs, short replicationFactor) throws Exception {
    Properties a = new Properties();
    a.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(a)) {
      for (String t : List.of(IN, OUT)) {
        try {
          admin.createTopics(List.of(new NewTopic(t, PARTITIONS, replicationFactor))).all().get();
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) throw e;
        }
      }
    }
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "20");
    p.put(ProducerConfig.BATCH_SIZE_CONFIG, "262144");
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    long started = System.nanoTime();
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      for (int i = 0; i < inputs; i++) producer.send(new ProducerRecord<>(IN, Integer.toString(i), line(i)));
      producer.flush();
    }
    return String.format("%d input lines written in %d ms", inputs, (System.nanoTime() - started) / 1_000_000);
  }

  static String run(String bootstrap, int inputs, int timeoutSec) throws Exception {
    Map<String, Long> expected = expected(inputs);
    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(IN, Consumed.with(Serdes.String(), Serdes.String()))
        .flatMapValues(v -> List.of(v.split(" ")))
        .groupBy((k, w) -> w, Grouped.with(Serdes.String(), Serdes.String()))
        // In memory: the test needs no RocksDB; the store is rebuilt from its changelog on restart.
        .count(Materialized.<String, Long>as(Stores.inMemoryKeyValueStore("counts")).withKeySerde(Serdes.String()).withValueSerde(Serdes.Long()))
        .toStream()
        .to(OUT, Produced.with(Serdes.String(), Serdes.Long()));
    Properties s = new Properties();
    s.put(StreamsConfig.APPLICATION_ID_CONFIG, "wc-eos");
    s.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    s.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    s.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, "2");
    java.nio.file.Path stateDir = Files.createTempDirectory("wc-eos-state");
    s.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    s.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, "-1");
    s.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG), "2000");
    KafkaStreams streams = new KafkaStreams(builder.build(), s);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    streams.setUncaughtExceptionHandler(e -> {
      failure.set(e);
      System.out.println("stream thread died: " + describe(e));
      return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
    });
    streams.setStateListener((now, before) -> System.out.println("streams state " + before + " -> " + now + " at " + System.currentTimeMillis()));
    long started = System.nanoTime();
    streams.start();
    List<String> problems = new ArrayList<>();
    Map<String, Long> latest = new HashMap<>();
    long updates = 0;
    try (KafkaConsumer<String, Long> consumer = checker(bootstrap)) {
      consumer.subscribe(List.of(OUT));
      long deadline = System.nanoTime() + timeoutSec * 1_000_000_000L;
      while (System.nanoTime() < deadline && !latest.equals(expected)) {
        for (ConsumerRecord<String, Long> r : consumer.poll(Duration.ofMillis(500))) {
          updates++;
          latest.put(r.key(), r.value());
          Long want = expected.get(r.key());
          if (want == null || r.value() > want) {
            if (problems.size() < 10) problems.add(r.key() + "=" + r.value() + " (expected " + want + ")");
          }
        }
      }
    } finally {
      streams.close(Duration.ofSeconds(30));
      try {
        streams.cleanUp();
        Files.deleteIfExists(stateDir);
      } catch (Exception e) {
        // Leftovers in a temp directory are not the test's concern.
      }
    }
    long ms = (System.nanoTime() - started) / 1_000_000;
    if (!problems.isEmpty()) throw new IllegalStateException("counts above the exact ones at read_committed: " + problems);
    if (!latest.equals(expected)) {
      int missing = 0;
      int wrong = 0;
      for (Map.Entry<String, Long> e : expected.entrySet()) {
        Long got = latest.get(e.getKey());
        if (got == null) missing++;
        else if (!got.equals(e.getValue())) wrong++;
      }
      throw new IllegalStateException(String.format("after %d s: %d words missing, %d short of their count (%d updates read)%s",
          timeoutSec, missing, wrong, updates, failure.get() == null ? "" : "; stream thread died: " + describe(failure.get())));
    }
    return String.format("%d lines, %d words with exact counts at read_committed in %d ms (%d count updates read)%s",
        inputs, expected.size(), ms, updates, failure.get() == null ? "" : "; a stream thread was replaced after: " + describe(failure.get()));
  }

  /** The exception and its causes, one line. */
  static String describe(Throwable e) {
    StringBuilder b = new StringBuilder();
    for (Throwable t = e; t != null && b.length() < 2000; t = t.getCause()) b.append(b.length() == 0 ? "" : " <- ").append(t);
    return b.toString();
  }

  static KafkaConsumer<String, Long> checker(String bootstrap) {
    Properties c = new Properties();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    c.put(ConsumerConfig.GROUP_ID_CONFIG, "wc-check-" + System.nanoTime());
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, LongDeserializer.class.getName());
    return new KafkaConsumer<>(c);
  }

  static void result(String scenario, boolean ok, String detail) {
    System.out.println("{\"client\":\"kafka-streams\",\"scenario\":\"" + scenario + "\",\"ok\":" + ok + ",\"detail\":\""
        + detail.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ") + "\"}");
  }
}
