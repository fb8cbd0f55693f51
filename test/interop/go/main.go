// Interop client: franz-go (kgo + kadm). Usage: interop-franz <bootstrap> <scenario>
// Prints one JSON line {"client":"franz-go","scenario":...,"ok":bool,"detail":...}.
// `interop-franz produce-seq ...` is the fault tests' producer instead (produce_seq.go); `chaos-produce`,
// `chaos-assign` and `chaos-group` are the chaos suite's workloads (chaos.go).
// Scenario definitions: test/interop/SCENARIOS.md. Built by scripts/interop/setup.sh into
// ~/.cache/runnel/interop/franz-go/interop-franz.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const client = "franz-go"
const partitions = 3
const ts0 = int64(1_700_000_000_000)

var bootstrap []string

type unsupported struct{ msg string }

func (u unsupported) Error() string { return u.msg }

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "produce-seq":
			os.Exit(produceSeq(os.Args[2:]))
		case "chaos-produce":
			os.Exit(chaosProduce(os.Args[2:]))
		case "chaos-assign":
			os.Exit(chaosAssign(os.Args[2:]))
		case "chaos-group":
			os.Exit(chaosGroup(os.Args[2:]))
		}
	}
	bootstrap = strings.Split(os.Args[1], ",")
	scenario := os.Args[2]
	fns := map[string]func(context.Context) (string, error){
		"metadata": metadata, "produce-consume": produceConsume, "list-offsets": listOffsets,
		"configs": configs, "delete-records": deleteRecords, "group": group, "describe-state": describeState,
		"transactions": transactions, "ctp-loop": ctpLoop, "ctp-check": ctpCheck, "consumer-848": consumer848,
	}
	out := map[string]any{"client": client, "scenario": scenario}
	fn, ok := fns[scenario]
	if !ok {
		out["ok"], out["skipped"], out["detail"] = false, true, "unknown scenario"
	} else {
		timeout := 150 * time.Second
		if v, err := strconv.Atoi(os.Getenv("INTEROP_SCENARIO_TIMEOUT_S")); err == nil && v > 0 {
			timeout = time.Duration(v) * time.Second
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		detail, err := fn(ctx)
		cancel()
		var u unsupported
		switch {
		case errors.As(err, &u):
			out["ok"], out["skipped"], out["detail"] = false, true, u.msg
		case err != nil:
			out["ok"], out["detail"] = false, err.Error()
		default:
			out["ok"], out["detail"] = true, detail
		}
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
}

func topicName(s string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return s + "-" + client + "-" + hex.EncodeToString(b)
}

func records() int {
	if v := os.Getenv("INTEROP_RECORDS"); v != "" {
		n, _ := strconv.Atoi(v)
		return n
	}
	return 10000
}

func recordValue(i int, codec, acks string) string {
	s := fmt.Sprintf("v%d:%s:%s:", i, codec, acks)
	for len(s) < 100 {
		s += string(rune('a' + (i+len(s))%26))
	}
	return s
}

func newClient(opts ...kgo.Opt) (*kgo.Client, error) {
	base := []kgo.Opt{kgo.SeedBrokers(bootstrap...), kgo.RequestTimeoutOverhead(10 * time.Second)}
	return kgo.NewClient(append(base, opts...)...)
}

func withAdmin[T any](fn func(*kadm.Client) (T, error)) (T, error) {
	cl, err := newClient()
	if err != nil {
		var zero T
		return zero, err
	}
	defer cl.Close()
	return fn(kadm.NewClient(cl))
}

// replicationFactor is INTEROP_REPLICATION_FACTOR: every scenario topic's RF (default 1; the matrix sets 3
// on a 3-node cluster).
func replicationFactor() int16 {
	if v, err := strconv.Atoi(os.Getenv("INTEROP_REPLICATION_FACTOR")); err == nil && v > 0 {
		return int16(v)
	}
	return 1
}

func createTopic(ctx context.Context, adm *kadm.Client, topic string, n int32) error {
	r, err := adm.CreateTopics(ctx, n, replicationFactor(), nil, topic)
	if err != nil {
		return err
	}
	return r.Error()
}

func metadata(ctx context.Context) (string, error) {
	return withAdmin(func(adm *kadm.Client) (string, error) {
		m, err := adm.BrokerMetadata(ctx)
		if err != nil {
			return "", err
		}
		if len(m.Brokers) == 0 {
			return "", errors.New("no brokers")
		}
		return fmt.Sprintf("brokers=%d clusterId=%s controller=%d", len(m.Brokers), m.Cluster, m.Controller), nil
	})
}

type expected struct{ key, value, idx string }

func header(r *kgo.Record, k string) string {
	for _, h := range r.Headers {
		if h.Key == k {
			return string(h.Value)
		}
	}
	return ""
}

func produceConsume(ctx context.Context) (string, error) {
	n := records()
	topic := topicName("pc")
	if _, err := withAdmin(func(adm *kadm.Client) (bool, error) { return true, createTopic(ctx, adm, topic, partitions) }); err != nil {
		return "", err
	}
	codecs := []struct {
		name string
		c    kgo.CompressionCodec
	}{{"none", kgo.NoCompression()}, {"gzip", kgo.GzipCompression()}, {"snappy", kgo.SnappyCompression()}, {"lz4", kgo.Lz4Compression()}, {"zstd", kgo.ZstdCompression()}}
	acks := []struct {
		name string
		a    kgo.Acks
	}{{"1", kgo.LeaderAck()}, {"-1", kgo.AllISRAcks()}, {"0", kgo.NoAck()}} // acks=0 never first: see SCENARIOS.md
	exp := make([][]expected, partitions)
	per := (n + len(codecs)*len(acks) - 1) / (len(codecs) * len(acks))
	i := 0
	for _, c := range codecs {
		for _, a := range acks {
			opts := []kgo.Opt{kgo.ProducerBatchCompression(c.c), kgo.RequiredAcks(a.a), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(5 * time.Millisecond)}
			if a.name != "-1" {
				opts = append(opts, kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(1))
			}
			cl, err := newClient(opts...)
			if err != nil {
				return "", err
			}
			var wg sync.WaitGroup
			var firstErr error
			var mu sync.Mutex
			end := i + per
			if end > n {
				end = n
			}
			for ; i < end; i++ {
				p := int32(i % partitions)
				v := recordValue(i, c.name, a.name)
				exp[p] = append(exp[p], expected{fmt.Sprintf("k%d", i), v, strconv.Itoa(i)})
				wg.Add(1)
				cl.Produce(ctx, &kgo.Record{Topic: topic, Partition: p, Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(v),
					Headers: []kgo.RecordHeader{{Key: "idx", Value: []byte(strconv.Itoa(i))}, {Key: "client", Value: []byte(client)}}},
					func(_ *kgo.Record, err error) {
						if err != nil {
							mu.Lock()
							if firstErr == nil {
								firstErr = err
							}
							mu.Unlock()
						}
						wg.Done()
					})
			}
			wg.Wait()
			if a.name == "0" {
				time.Sleep(300 * time.Millisecond) // acks=0: let the last request leave the socket before Close
			}
			cl.Close()
			if firstErr != nil {
				return "", fmt.Errorf("produce %s/acks=%s: %w", c.name, a.name, firstErr)
			}
		}
	}
	total := 0
	for p := int32(0); p < partitions; p++ {
		cl, err := newClient(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {p: kgo.NewOffset().At(0)}}), kgo.FetchMaxWait(300*time.Millisecond))
		if err != nil {
			return "", err
		}
		got := 0
		deadline := time.Now().Add(60 * time.Second)
		lastProgress, lastGot := time.Now(), 0
		var checkErr error
		for got < len(exp[p]) && time.Now().Before(deadline) && checkErr == nil && time.Since(lastProgress) < 15*time.Second {
			if got != lastGot {
				lastProgress, lastGot = time.Now(), got
			}
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			fs := cl.PollFetches(pctx)
			cancel()
			fs.EachRecord(func(r *kgo.Record) {
				if checkErr != nil {
					return
				}
				if got >= len(exp[p]) {
					checkErr = fmt.Errorf("partition %d: extra record at offset %d", p, r.Offset)
					return
				}
				e := exp[p][got]
				switch {
				case r.Offset != int64(got):
					checkErr = fmt.Errorf("partition %d: offset %d expected %d", p, r.Offset, got)
				case string(r.Key) != e.key:
					checkErr = fmt.Errorf("partition %d offset %d: key %s expected %s", p, got, r.Key, e.key)
				case string(r.Value) != e.value:
					checkErr = fmt.Errorf("partition %d offset %d: value mismatch", p, got)
				case header(r, "idx") != e.idx || header(r, "client") != client:
					checkErr = fmt.Errorf("partition %d offset %d: headers mismatch", p, got)
				}
				got++
			})
		}
		cl.Close()
		if checkErr != nil {
			return "", checkErr
		}
		if got != len(exp[p]) {
			return "", fmt.Errorf("partition %d: read %d of %d", p, got, len(exp[p]))
		}
		total += got
	}
	return fmt.Sprintf("records=%d codecs=none,gzip,snappy,lz4,zstd acks=0,1,-1 partitions=%d", total, partitions), nil
}

func produceTen(ctx context.Context, topic string) error {
	cl, err := newClient(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return err
	}
	defer cl.Close()
	for i := 0; i < 10; i++ {
		r := &kgo.Record{Topic: topic, Partition: 0, Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf("v%d", i)), Timestamp: time.UnixMilli(ts0 + int64(i)*1000)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			return err
		}
	}
	return nil
}

func offsetOf(topic string) func(kadm.ListedOffsets, error) (int64, error) {
	return func(l kadm.ListedOffsets, err error) (int64, error) { return listedOffset(l, err, topic) }
}

func listedOffset(l kadm.ListedOffsets, err error, topic string) (int64, error) {
	if err != nil {
		return 0, err
	}
	if err := l.Error(); err != nil {
		return 0, err
	}
	o, ok := l.Lookup(topic, 0)
	if !ok {
		return 0, errors.New("partition 0 missing in ListOffsets answer")
	}
	return o.Offset, nil
}

func listOffsets(ctx context.Context) (string, error) {
	topic := topicName("lo")
	return withAdmin(func(adm *kadm.Client) (string, error) {
		if err := createTopic(ctx, adm, topic, 1); err != nil {
			return "", err
		}
		if err := produceTen(ctx, topic); err != nil {
			return "", err
		}
		earliest, err := offsetOf(topic)(adm.ListStartOffsets(ctx, topic))
		if err != nil {
			return "", err
		}
		latest, err := offsetOf(topic)(adm.ListEndOffsets(ctx, topic))
		if err != nil {
			return "", err
		}
		byTs, err := offsetOf(topic)(adm.ListOffsetsAfterMilli(ctx, ts0+4500, topic))
		if err != nil {
			return "", err
		}
		if earliest != 0 || latest != 10 || byTs != 5 {
			return "", fmt.Errorf("earliest=%d latest=%d byTimestamp=%d, expected 0/10/5", earliest, latest, byTs)
		}
		return "earliest=0 latest=10 byTimestamp=5", nil
	})
}

func configs(ctx context.Context) (string, error) {
	topic := topicName("cfg")
	return withAdmin(func(adm *kadm.Client) (string, error) {
		if err := createTopic(ctx, adm, topic, 1); err != nil {
			return "", err
		}
		v := "123456789"
		rs, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: &v}}, topic)
		if err != nil {
			return "", err
		}
		for _, r := range rs {
			if r.Err != nil {
				return "", fmt.Errorf("alter: %v %s", r.Err, r.ErrMessage)
			}
		}
		got := ""
		for attempt := 0; attempt < 50; attempt++ {
			dc, err := adm.DescribeTopicConfigs(ctx, topic)
			if err != nil {
				return "", err
			}
			for _, r := range dc {
				for _, c := range r.Configs {
					if c.Key == "retention.ms" && c.Value != nil {
						got = *c.Value
					}
				}
			}
			if got == v {
				return "retention.ms=123456789 (incremental AlterConfigs + DescribeConfigs)", nil
			}
			time.Sleep(200 * time.Millisecond)
		}
		return "", fmt.Errorf("retention.ms=%s after alter", got)
	})
}

func deleteRecords(ctx context.Context) (string, error) {
	topic := topicName("dr")
	return withAdmin(func(adm *kadm.Client) (string, error) {
		if err := createTopic(ctx, adm, topic, 1); err != nil {
			return "", err
		}
		if err := produceTen(ctx, topic); err != nil {
			return "", err
		}
		os := kadm.Offsets{}
		os.Add(kadm.Offset{Topic: topic, Partition: 0, At: 4, LeaderEpoch: -1})
		rs, err := adm.DeleteRecords(ctx, os)
		if err != nil {
			return "", err
		}
		r, ok := rs.Lookup(topic, 0)
		if !ok || r.Err != nil || r.LowWatermark != 4 {
			return "", fmt.Errorf("delete records: ok=%v err=%v lowWatermark=%d", ok, r.Err, r.LowWatermark)
		}
		earliest, err := offsetOf(topic)(adm.ListStartOffsets(ctx, topic))
		if err != nil {
			return "", err
		}
		if earliest != 4 {
			return "", fmt.Errorf("earliest after delete=%d", earliest)
		}
		return "lowWatermark=4 earliest=4", nil
	})
}

// describeState: the log directory (DescribeLogDirs) and idempotent producer (DescribeProducers) of a
// partition after produceTen's ten single-record batches.
func describeState(ctx context.Context) (string, error) {
	topic := topicName("ds")
	return withAdmin(func(adm *kadm.Client) (string, error) {
		if err := createTopic(ctx, adm, topic, 1); err != nil {
			return "", err
		}
		if err := produceTen(ctx, topic); err != nil {
			return "", err
		}
		dirs, err := adm.DescribeAllLogDirs(ctx, kadm.TopicsSet{topic: {0: {}}})
		if err != nil {
			return "", err
		}
		var found []kadm.DescribedLogDirPartition
		dirs.Each(func(d kadm.DescribedLogDir) {
			if p, ok := d.Topics[topic][0]; ok && d.Err == nil {
				found = append(found, p)
			}
		})
		// One replica per broker that holds the partition (RF), each with the ten records (acks=all) and
		// no lag: Kafka reports max(HW - log end, 0) for a current replica, 0 once replicated.
		if len(found) != int(replicationFactor()) {
			return "", fmt.Errorf("log dirs for %s-0: %d replicas, RF %d: %+v", topic, len(found), replicationFactor(), found)
		}
		for _, p := range found {
			if p.Size <= 0 || p.OffsetLag != 0 || p.IsFuture {
				return "", fmt.Errorf("log dirs for %s-0: %+v", topic, found)
			}
		}
		described, err := adm.DescribeProducers(ctx, kadm.TopicsSet{topic: {0: {}}})
		if err != nil {
			return "", err
		}
		part, ok := described[topic].Partitions[0]
		if !ok || part.Err != nil || len(part.ActiveProducers) != 1 {
			return "", fmt.Errorf("describe producers %s-0: ok=%v %+v", topic, ok, part)
		}
		for _, pr := range part.ActiveProducers.Sorted() {
			if pr.ProducerID < 0 || pr.ProducerEpoch < 0 || pr.LastSequence != 9 || pr.CurrentTxnStartOffset != -1 {
				return "", fmt.Errorf("producer state: %+v", pr)
			}
		}
		return fmt.Sprintf("log dir %s size=%d lag=0; 1 producer, last sequence 9", found[0].Dir, found[0].Size), nil
	})
}

func group(ctx context.Context) (string, error) {
	return groupWith(ctx, "grp")
}

// consumer848 is the group scenario with KIP-848's protocol: franz-go's ServerSideBalancer makes the
// broker assign (ConsumerGroupHeartbeat), which needs the range or sticky balancer configured.
func consumer848(ctx context.Context) (string, error) {
	return groupWith(ctx, "c848", kgo.ServerSideBalancer(), kgo.Balancers(kgo.RangeBalancer()))
}

func groupWith(ctx context.Context, scenario string, extra ...kgo.Opt) (string, error) {
	topic := topicName(scenario)
	groupID := "g-" + topic
	const parts, perPartition, members = 6, 100, 3
	if _, err := withAdmin(func(adm *kadm.Client) (bool, error) { return true, createTopic(ctx, adm, topic, parts) }); err != nil {
		return "", err
	}
	var mu sync.Mutex
	seen := map[string]int{}
	owners := map[int32]map[int]bool{}
	assigned := make([]int, members)
	clients := make([]*kgo.Client, members)
	for m := 0; m < members; m++ {
		m := m
		opts := append([]kgo.Opt{kgo.ConsumerGroup(groupID), kgo.ConsumeTopics(topic), kgo.DisableAutoCommit(),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(300 * time.Millisecond)}, extra...)
		cl, err := newClient(append(opts,
			kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) {
				mu.Lock()
				assigned[m] += len(a[topic])
				mu.Unlock()
			}),
			kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, r map[string][]int32) {
				mu.Lock()
				assigned[m] -= len(r[topic])
				mu.Unlock()
			}))...)
		if err != nil {
			return "", err
		}
		clients[m] = cl
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var commitErr error
	for m, cl := range clients {
		wg.Add(1)
		go func(m int, cl *kgo.Client) {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
				fs := cl.PollFetches(pctx)
				cancel()
				var recs []*kgo.Record
				fs.EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
				mu.Lock()
				for _, r := range recs {
					seen[string(r.Value)]++
					if owners[r.Partition] == nil {
						owners[r.Partition] = map[int]bool{}
					}
					owners[r.Partition][m] = true
				}
				mu.Unlock()
				if len(recs) > 0 {
					if err := cl.CommitRecords(ctx, recs...); err != nil {
						mu.Lock()
						commitErr = err
						mu.Unlock()
					}
				}
			}
		}(m, cl)
	}
	split := func() (string, bool) {
		mu.Lock()
		defer mu.Unlock()
		total, all := 0, true
		s := make([]string, members)
		for i, a := range assigned {
			total += a
			all = all && a > 0
			s[i] = strconv.Itoa(a)
		}
		return strings.Join(s, "/"), all && total == parts
	}
	for deadline := time.Now().Add(45 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if _, ok := split(); ok {
			break
		}
	}
	time.Sleep(500 * time.Millisecond)
	sp, stable := split()
	if !stable {
		close(stop)
		wg.Wait()
		for _, cl := range clients {
			cl.Close()
		}
		return "", fmt.Errorf("group never stable within 45 s (split %s)", sp)
	}
	prod, err := newClient(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return "", err
	}
	for p := int32(0); p < parts; p++ {
		for j := 0; j < perPartition; j++ {
			prod.Produce(ctx, &kgo.Record{Topic: topic, Partition: p, Value: []byte(fmt.Sprintf("p%d-%d", p, j))}, nil)
		}
	}
	if err := prod.Flush(ctx); err != nil {
		return "", err
	}
	prod.Close()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n >= parts*perPartition {
			break
		}
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	for _, cl := range clients {
		cl.Close()
	}
	if commitErr != nil {
		return "", fmt.Errorf("commit: %w", commitErr)
	}
	if len(seen) != parts*perPartition {
		return "", fmt.Errorf("consumed %d distinct of %d (split %s)", len(seen), parts*perPartition, sp)
	}
	for v, c := range seen {
		if c != 1 {
			return "", fmt.Errorf("%s consumed %d times", v, c)
		}
	}
	for p, o := range owners {
		if len(o) != 1 {
			return "", fmt.Errorf("partition %d consumed by %d members", p, len(o))
		}
	}
	if strings.Contains("/"+sp+"/", "/0/") {
		return "", fmt.Errorf("not split across 3 members: %s", sp)
	}
	return withAdmin(func(adm *kadm.Client) (string, error) {
		offs, err := adm.FetchOffsets(ctx, groupID)
		if err != nil {
			return "", err
		}
		for p := int32(0); p < parts; p++ {
			o, ok := offs.Lookup(topic, p)
			if !ok || o.Err != nil || o.At != perPartition {
				return "", fmt.Errorf("committed offset partition %d = %d (ok=%v err=%v)", p, o.At, ok, o.Err)
			}
		}
		return fmt.Sprintf("%d records exactly once, split %s, committed %d per partition", parts*perPartition, sp, perPartition), nil
	})
}

// transactions (SCENARIOS.md): a transactional producer commits 100 records, aborts 50, commits 100
// more; read_committed sees exactly the 200 committed ones once each, read_uncommitted all 250. Then a
// GroupTransactSession consume-transform-produce loop copies 300 input records to an output topic,
// committing its group offsets inside each transaction: every input's output is there exactly once at
// read_committed, and the group's committed offsets cover all 300 inputs.
func transactions(ctx context.Context) (string, error) {
	topic := topicName("txn")
	in, out := topic+"-in", topic+"-out"
	if _, err := withAdmin(func(adm *kadm.Client) (bool, error) {
		for _, t := range []string{topic, in, out} {
			if err := createTopic(ctx, adm, t, partitions); err != nil {
				return false, err
			}
		}
		return true, nil
	}); err != nil {
		return "", err
	}
	pr, err := newClient(kgo.TransactionalID(topic), kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return "", err
	}
	defer pr.Close()
	batch := func(prefix string, from, to int) []*kgo.Record {
		var rs []*kgo.Record
		for i := from; i < to; i++ {
			rs = append(rs, &kgo.Record{Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf("%s%d", prefix, i)), Partition: int32(i % partitions)})
		}
		return rs
	}
	for _, step := range []struct {
		prefix   string
		from, to int
		commit   kgo.TransactionEndTry
	}{{"c", 0, 100, kgo.TryCommit}, {"a", 0, 50, kgo.TryAbort}, {"c", 100, 200, kgo.TryCommit}} {
		if err := pr.BeginTransaction(); err != nil {
			return "", fmt.Errorf("begin: %w", err)
		}
		if err := pr.ProduceSync(ctx, batch(step.prefix, step.from, step.to)...).FirstErr(); err != nil {
			return "", fmt.Errorf("produce %s: %w", step.prefix, err)
		}
		if err := pr.EndTransaction(ctx, step.commit); err != nil {
			return "", fmt.Errorf("end transaction: %w", err)
		}
	}
	committed, err := readValues(ctx, topic, kgo.ReadCommitted(), 200)
	if err != nil {
		return "", err
	}
	if err := exactlyOnce(committed, "c", 200); err != nil {
		return "", fmt.Errorf("read_committed: %w", err)
	}
	all, err := readValues(ctx, topic, kgo.ReadUncommitted(), 250)
	if err != nil {
		return "", err
	}
	if len(all) != 250 {
		return "", fmt.Errorf("read_uncommitted: %d records, want 250", len(all))
	}
	copied, err := consumeTransformProduce(ctx, topic, in, out)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("read_committed 200/200 once each, read_uncommitted 250; GroupTransactSession copied %d/300 once each", copied), nil
}

func consumeTransformProduce(ctx context.Context, topic, in, out string) (int, error) {
	const inputs = 300
	plain, err := newClient(kgo.DefaultProduceTopic(in))
	if err != nil {
		return 0, err
	}
	if err := plain.ProduceSync(ctx, batchOf("in", inputs)...).FirstErr(); err != nil {
		plain.Close()
		return 0, err
	}
	plain.Close()
	groupID := "g-" + topic
	sess, err := kgo.NewGroupTransactSession(
		kgo.SeedBrokers(bootstrap...), kgo.TransactionalID(topic+"-ctp"), kgo.ConsumerGroup(groupID), kgo.ConsumeTopics(in),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DefaultProduceTopic(out),
		kgo.RequestTimeoutOverhead(10*time.Second),
	)
	if err != nil {
		return 0, err
	}
	defer sess.Close()
	done := 0
	for done < inputs && ctx.Err() == nil {
		pollCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		fetches := sess.PollFetches(pollCtx)
		cancel()
		if err := fetches.Err0(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return done, fmt.Errorf("poll: %w", err)
		}
		recs := fetches.Records()
		if len(recs) == 0 {
			continue
		}
		if err := sess.Begin(); err != nil {
			return done, fmt.Errorf("begin: %w", err)
		}
		var outs []*kgo.Record
		for _, r := range recs {
			outs = append(outs, &kgo.Record{Key: r.Key, Value: append([]byte("o:"), r.Value...)})
		}
		produceErr := sess.ProduceSync(ctx, outs...).FirstErr()
		committed, err := sess.End(ctx, produceErr == nil)
		if err != nil {
			return done, fmt.Errorf("end: %w", err)
		}
		if committed && produceErr == nil {
			done += len(recs)
		}
	}
	values, err := readValues(ctx, out, kgo.ReadCommitted(), inputs)
	if err != nil {
		return 0, err
	}
	seen := map[string]int{}
	for _, v := range values {
		seen[v]++
	}
	for i := 0; i < inputs; i++ {
		if n := seen[fmt.Sprintf("o:in%d", i)]; n != 1 {
			return 0, fmt.Errorf("output of in%d present %d times (%d outputs read)", i, n, len(values))
		}
	}
	if len(values) != inputs {
		return 0, fmt.Errorf("%d outputs, want %d", len(values), inputs)
	}
	offsets, err := withAdmin(func(adm *kadm.Client) (kadm.OffsetResponses, error) { return adm.FetchOffsets(ctx, groupID) })
	if err != nil {
		return 0, err
	}
	var total int64
	offsets.Each(func(o kadm.OffsetResponse) {
		if o.Topic == in {
			total += o.At
		}
	})
	if total != inputs {
		return 0, fmt.Errorf("group %s committed offsets sum to %d, want %d", groupID, total, inputs)
	}
	return inputs, nil
}

func batchOf(prefix string, n int) []*kgo.Record {
	var rs []*kgo.Record
	for i := 0; i < n; i++ {
		rs = append(rs, &kgo.Record{Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf("%s%d", prefix, i))})
	}
	return rs
}

// readValues reads a topic from the start at an isolation level until `want` values or 20 s, then 1 s more.
func readValues(ctx context.Context, topic string, level kgo.IsolationLevel, want int) ([]string, error) {
	cl, err := newClient(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(level))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var values []string
	deadline := time.Now().Add(20 * time.Second)
	extra := time.Time{}
	for {
		now := time.Now()
		if len(values) >= want && extra.IsZero() {
			extra = now.Add(time.Second)
		}
		if (!extra.IsZero() && now.After(extra)) || now.After(deadline) {
			return values, nil
		}
		pollCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		fetches := cl.PollFetches(pollCtx)
		cancel()
		fetches.EachRecord(func(r *kgo.Record) { values = append(values, string(r.Value)) })
	}
}

func exactlyOnce(values []string, prefix string, n int) error {
	seen := map[string]int{}
	for _, v := range values {
		seen[v]++
	}
	for i := 0; i < n; i++ {
		if c := seen[fmt.Sprintf("%s%d", prefix, i)]; c != 1 {
			return fmt.Errorf("%s%d seen %d times (%d values)", prefix, i, c, len(values))
		}
	}
	if len(values) != n {
		return fmt.Errorf("%d values, want %d", len(values), n)
	}
	return nil
}

// ctpLoop (not a matrix scenario; test/faults/txn-kill.test.ts runs it): a GroupTransactSession copies
// every record of $CTP_IN to $CTP_OUT as "o:<value>", at most 30 records per transaction, committing its
// group offsets in each transaction,
// through broker restarts: every error is retried after a pause. It ends once the group's committed
// offsets cover $CTP_INPUTS records, or at the deadline.
func ctpLoop(ctx context.Context) (string, error) {
	in, out, groupID, txnID := os.Getenv("CTP_IN"), os.Getenv("CTP_OUT"), os.Getenv("CTP_GROUP"), os.Getenv("CTP_TXN")
	inputs, _ := strconv.ParseInt(os.Getenv("CTP_INPUTS"), 10, 64)
	newSession := func() (*kgo.GroupTransactSession, error) {
		return kgo.NewGroupTransactSession(
			kgo.SeedBrokers(bootstrap...), kgo.TransactionalID(txnID), kgo.ConsumerGroup(groupID), kgo.ConsumeTopics(in),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DefaultProduceTopic(out),
			kgo.RequestTimeoutOverhead(5*time.Second), kgo.TransactionTimeout(20*time.Second), kgo.RetryTimeout(30*time.Second),
		)
	}
	sess, err := newSession()
	if err != nil {
		return "", err
	}
	defer func() { sess.Close() }()
	// franz-go: "No returned error [of End] is retryable. Either the transactional ID has entered a failed
	// state, or the client retried so much that the retry limit was hit" — the session is done; an
	// application restarts with a new one, whose InitProducerId fences the old epoch and aborts what it left
	// open. (Calling Begin again on the old session fails for ever: "already in a transaction".)
	restarts := 0
	restart := func() error {
		sess.Close()
		restarts++
		next, err := newSession()
		if err != nil {
			return err
		}
		sess = next
		return nil
	}
	adm, err := newClient()
	if err != nil {
		return "", err
	}
	defer adm.Close()
	admin := kadm.NewClient(adm)
	commits, aborts, failures := 0, 0, 0
	// What the failed attempts were told, for the deadline message (at most 8 distinct texts, in order).
	var failedWith []string
	failedCount := map[string]int{}
	noteFailure := func(step string, err error) {
		text := step + ": " + err.Error()
		if failedCount[text] == 0 && len(failedWith) < 8 {
			failedWith = append(failedWith, text)
		}
		failedCount[text]++
	}
	// " (2x end: …; 1x begin: …)", or "" without failures.
	told := func() string {
		if len(failedWith) == 0 {
			return ""
		}
		parts := make([]string, 0, len(failedWith))
		for _, text := range failedWith {
			parts = append(parts, fmt.Sprintf("%dx %s", failedCount[text], text))
		}
		return " (" + strings.Join(parts, "; ") + ")"
	}
	lastCheck := time.Time{}
	for ctx.Err() == nil {
		if time.Since(lastCheck) > time.Second {
			lastCheck = time.Now()
			if offsets, err := admin.FetchOffsets(ctx, groupID); err == nil {
				var total int64
				offsets.Each(func(o kadm.OffsetResponse) {
					if o.Topic == in && o.Err == nil {
						total += o.At
					}
				})
				if total >= inputs {
					return fmt.Sprintf("copied %d inputs: %d commits, %d aborts, %d failed attempts, %d session restarts%s", total, commits, aborts, failures, restarts, told()), nil
				}
			}
		}
		// Small transactions, so that kills land in the middle of the stream.
		pollCtx, cancel := context.WithTimeout(ctx, time.Second)
		fetches := sess.PollRecords(pollCtx, 30)
		cancel()
		recs := fetches.Records()
		if len(recs) == 0 {
			continue
		}
		if err := sess.Begin(); err != nil {
			failures++
			noteFailure("begin", err)
			time.Sleep(300 * time.Millisecond)
			if err := restart(); err != nil {
				return "", err
			}
			continue
		}
		var outs []*kgo.Record
		for _, r := range recs {
			outs = append(outs, &kgo.Record{Key: r.Key, Value: append([]byte("o:"), r.Value...)})
		}
		produceErr := sess.ProduceSync(ctx, outs...).FirstErr()
		committed, err := sess.End(ctx, produceErr == nil)
		switch {
		case err != nil || produceErr != nil:
			failures++
			if produceErr != nil {
				noteFailure("produce", produceErr)
			}
			if err != nil {
				noteFailure("end", err)
			}
			time.Sleep(300 * time.Millisecond)
			if err != nil {
				if err := restart(); err != nil {
					return "", err
				}
			}
		case committed:
			commits++
		default:
			aborts++
		}
	}
	return "", fmt.Errorf("deadline: %d commits, %d aborts, %d failed attempts, %d session restarts%s", commits, aborts, failures, restarts, told())
}

// ctpCheck (test/faults/txn-kill.test.ts): $CTP_OUT at read_committed holds "o:in<i>" exactly once for
// every i < $CTP_INPUTS and nothing else; reports how many records read_uncommitted sees.
func ctpCheck(ctx context.Context) (string, error) {
	out := os.Getenv("CTP_OUT")
	inputs, _ := strconv.Atoi(os.Getenv("CTP_INPUTS"))
	values, err := readValues(ctx, out, kgo.ReadCommitted(), inputs)
	if err != nil {
		return "", err
	}
	seen := map[string]int{}
	for _, v := range values {
		seen[v]++
	}
	missing, duplicated := 0, 0
	for i := 0; i < inputs; i++ {
		switch n := seen[fmt.Sprintf("o:in%d", i)]; {
		case n == 0:
			missing++
		case n > 1:
			duplicated++
		}
	}
	all, err := readValues(ctx, out, kgo.ReadUncommitted(), inputs)
	if err != nil {
		return "", err
	}
	if missing > 0 || duplicated > 0 || len(values) != inputs {
		return "", fmt.Errorf("read_committed: %d records, %d inputs without output, %d with more than one; read_uncommitted %d", len(values), missing, duplicated, len(all))
	}
	return fmt.Sprintf("read_committed: %d outputs, each input once; read_uncommitted: %d", len(values), len(all)), nil
}
