// Java kafka-clients checks of the classic group protocol against a broker (run by group-java.test.ts
// as a single-file source program with the interop cache's jars on the class path):
//   cooperative: 3 consumers with the CooperativeStickyAssignor on 6 partitions → 2 each; one closes →
//     the other two end with 3 each; a new one joins → 2 each again; the members that stayed never lost
//     a partition that remained theirs (incremental rebalancing, KIP-429).
//   static: 2 static members (group.instance.id); one closes without leaving and comes back with the
//     same instance id within the session timeout → the same partitions, no rebalance (the other
//     member's generation and assignment never change, KIP-345).
// Prints one line per check: `PASS <name> <detail>` or `FAIL <name> <reason>`; exit code 0 if all pass.
import java.time.Duration;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.*;

public class GroupJavaCheck {
  static String bootstrap;
  static final long WAIT_MS = 60_000;

  public static void main(String[] args) throws Exception {
    bootstrap = args[0];
    boolean ok = true;
    ok &= run("cooperative", GroupJavaCheck::cooperative);
    ok &= run("static", GroupJavaCheck::staticMembership);
    System.exit(ok ? 0 : 1);
  }

  interface Check { String run() throws Exception; }

  static boolean run(String name, Check check) {
    try {
      System.out.println("PASS " + name + " " + check.run());
      return true;
    } catch (Throwable e) {
      System.out.println("FAIL " + name + " " + e);
      return false;
    } finally {
      System.out.flush();
    }
  }

  /** One consumer polling on its own thread; what it owns is readable from others. */
  static final class Member implements AutoCloseable {
    final Set<TopicPartition> owned = ConcurrentHashMap.newKeySet();
    final Set<TopicPartition> lost = ConcurrentHashMap.newKeySet();
    final AtomicInteger generation = new AtomicInteger(-1);
    final AtomicInteger assignedCallbacks = new AtomicInteger();
    final AtomicBoolean stop = new AtomicBoolean();
    final Thread thread;
    volatile Throwable failure;

    Member(String topic, Properties props) {
      thread = new Thread(() -> {
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(props)) {
          c.subscribe(List.of(topic), new ConsumerRebalanceListener() {
            public void onPartitionsRevoked(Collection<TopicPartition> parts) { lost.addAll(parts); owned.removeAll(parts); }
            public void onPartitionsAssigned(Collection<TopicPartition> parts) { assignedCallbacks.incrementAndGet(); owned.addAll(parts); }
            public void onPartitionsLost(Collection<TopicPartition> parts) { lost.addAll(parts); owned.removeAll(parts); }
          });
          while (!stop.get()) {
            c.poll(Duration.ofMillis(100));
            generation.set(c.groupMetadata().generationId());
          }
        } catch (Throwable e) {
          failure = e;
        }
      });
      thread.start();
    }

    public void close() throws InterruptedException {
      stop.set(true);
      thread.join(WAIT_MS);
    }
  }

  static Properties props(String group, String assignor, String instanceId) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, assignor);
    p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "10000");
    p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "500");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    if (instanceId != null) p.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, instanceId);
    return p;
  }

  static String topic(String name, int partitions) throws Exception {
    String topic = name + "-" + Long.toHexString(System.nanoTime());
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(p)) {
      admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get();
    }
    return topic;
  }

  static void waitUntil(String what, Callable<Boolean> condition, List<Member> members) throws Exception {
    long deadline = System.currentTimeMillis() + WAIT_MS;
    while (!condition.call()) {
      for (Member m : members) if (m.failure != null) throw new AssertionError("consumer failed: " + m.failure);
      if (System.currentTimeMillis() > deadline) throw new AssertionError("timed out waiting for " + what + ": " + describe(members));
      Thread.sleep(50);
    }
  }

  static String describe(List<Member> members) {
    StringBuilder b = new StringBuilder();
    for (Member m : members) b.append(m.owned.size()).append('@').append(m.generation.get()).append(' ');
    return b.toString().trim();
  }

  static boolean split(List<Member> members, int each, int total) {
    Set<TopicPartition> all = new HashSet<>();
    int sum = 0;
    for (Member m : members) {
      if (m.owned.size() != each) return false;
      all.addAll(m.owned);
      sum += m.owned.size();
    }
    return all.size() == total && sum == total;
  }

  static String cooperative() throws Exception {
    String topic = topic("coop", 6);
    String assignor = CooperativeStickyAssignor.class.getName();
    List<Member> members = new ArrayList<>();
    long start = System.currentTimeMillis();
    for (int i = 0; i < 3; i++) members.add(new Member(topic, props("coop-" + topic, assignor, null)));
    try {
      waitUntil("3 x 2 partitions", () -> split(members, 2, 6), members);
      long joinMs = System.currentTimeMillis() - start;
      Member leaver = members.remove(2);
      Map<Member, Set<TopicPartition>> kept = new HashMap<>();
      for (Member m : members) { kept.put(m, new HashSet<>(m.owned)); m.lost.clear(); }
      long leftAt = System.currentTimeMillis();
      leaver.close();
      waitUntil("2 x 3 partitions", () -> split(members, 3, 6), members);
      long takeoverMs = System.currentTimeMillis() - leftAt;
      for (Member m : members) {
        if (!m.owned.containsAll(kept.get(m))) throw new AssertionError("a staying member lost a partition it kept");
        if (!m.lost.isEmpty()) throw new AssertionError("cooperative rebalance revoked " + m.lost + " from a staying member");
      }
      members.add(new Member(topic, props("coop-" + topic, assignor, null)));
      waitUntil("3 x 2 partitions again", () -> split(members, 2, 6), members);
      return "join " + joinMs + " ms, take-over " + takeoverMs + " ms, rejoin split " + describe(members);
    } finally {
      for (Member m : members) m.close();
    }
  }

  static String staticMembership() throws Exception {
    String topic = topic("static", 4);
    String assignor = RangeAssignor.class.getName();
    String group = "static-" + topic;
    List<Member> members = new ArrayList<>();
    members.add(new Member(topic, props(group, assignor, "instance-a")));
    members.add(new Member(topic, props(group, assignor, "instance-b")));
    try {
      waitUntil("2 x 2 partitions", () -> split(members, 2, 4) && members.stream().allMatch((m) -> m.generation.get() > 0), members);
      Thread.sleep(1_000);
      Member stay = members.get(0);
      Member bounce = members.get(1);
      Set<TopicPartition> bounced = new HashSet<>(bounce.owned);
      Set<TopicPartition> stayed = new HashSet<>(stay.owned);
      int generation = stay.generation.get();
      int callbacks = stay.assignedCallbacks.get();
      // A static member's close does not send LeaveGroup: the coordinator keeps its place for the session timeout.
      bounce.close();
      members.set(1, new Member(topic, props(group, assignor, "instance-b")));
      Member back = members.get(1);
      waitUntil("the static member back with its partitions", () -> back.owned.equals(bounced), members);
      Thread.sleep(2_000);
      if (stay.generation.get() != generation) throw new AssertionError("generation moved " + generation + " -> " + stay.generation.get());
      if (stay.assignedCallbacks.get() != callbacks || !stay.owned.equals(stayed) || !stay.lost.isEmpty()) {
        throw new AssertionError("the other member saw a rebalance");
      }
      if (back.generation.get() != generation) throw new AssertionError("rejoined at generation " + back.generation.get() + ", group at " + generation);
      return "rejoined at generation " + generation + " with " + bounced.size() + " partitions, no rebalance";
    } finally {
      for (Member m : members) m.close();
    }
  }
}
