// Transactional produce throughput (issue #24's benchmark row): a Java kafka-clients transactional
// producer sends <records> 100-byte records to a 3-partition topic, committing every <perTxn> records,
// and prints `RESULT <records> <seconds> <records/s> <transactions>`. Single-file program:
//   java -cp '<kafka-clients deps>/*' TxnPerf.java <bootstrap> <topic> <records> <perTxn>
import java.util.*;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class TxnPerf {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String topic = args[1];
    long records = Long.parseLong(args[2]);
    int perTxn = Integer.parseInt(args[3]);
    Properties ap = new Properties();
    ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin a = Admin.create(ap)) {
      a.createTopics(List.of(new NewTopic(topic, 3, (short) 1))).all().get(60, TimeUnit.SECONDS);
    }
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, topic + "-txn");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    p.put(ProducerConfig.BATCH_SIZE_CONFIG, "65536");
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    byte[] value = new byte[100];
    Arrays.fill(value, (byte) 'x');
    long transactions = 0;
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
      producer.initTransactions();
      long start = System.nanoTime();
      for (long i = 0; i < records; i += perTxn) {
        producer.beginTransaction();
        long end = Math.min(records, i + perTxn);
        for (long j = i; j < end; j++) producer.send(new ProducerRecord<>(topic, value));
        producer.commitTransaction();
        transactions++;
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      System.out.printf(Locale.ROOT, "RESULT %d %.3f %.0f %d%n", records, seconds, records / seconds, transactions);
    }
  }
}
