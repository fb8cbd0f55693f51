// Prints every broker property of the Kafka on the classpath, one per line:
// name TAB type TAB update mode (read-only | per-broker | cluster-wide) TAB default ("<none>" when required).
// Read from KafkaConfig.configDef() and DynamicBrokerConfig.dynamicConfigUpdateModes(), the same tables
// Kafka validates server.properties and kafka-configs.sh --alter against. Run by kafka-broker-properties.ts.
import org.apache.kafka.common.config.ConfigDef;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

public class DumpBrokerConfigs {
  public static void main(String[] args) throws Exception {
    ConfigDef def = (ConfigDef) Class.forName("kafka.server.KafkaConfig").getMethod("configDef").invoke(null);
    Map<String, String> modes = new HashMap<>();
    Class<?> dynamic = Class.forName("org.apache.kafka.server.config.DynamicBrokerConfig");
    @SuppressWarnings("unchecked")
    Map<String, String> found = (Map<String, String>) dynamic.getMethod("dynamicConfigUpdateModes").invoke(null);
    modes.putAll(found);
    for (ConfigDef.ConfigKey key : new TreeMap<>(def.configKeys()).values()) {
      String value = !key.hasDefault() ? "<none>" : key.defaultValue == null ? "<null>" : ConfigDef.convertToString(key.defaultValue, key.type);
      System.out.println(String.join("\t", key.name, key.type.name(), modes.getOrDefault(key.name, "read-only"), clean(value)));
    }
  }

  private static String clean(String s) {
    return s.replace('\t', ' ').replace('\n', ' ');
  }
}
