// franz-perf: a producer load generator on franz-go, shaped like Kafka's ProducerPerformance so the
// macro bench (bench/macro/bench.ts) can drive Apache Kafka and Runnel with a second, much cheaper
// client than the JVM's: on 2 shared cores the Java producer alone needs ~1.6 CPU-s per million
// 100-byte records, which caps any broker near 700k msg/s whatever the broker does.
//
// Usage: franz-perf --bootstrap B --topic T --num-records N --record-size S --acks 0|1|-1
//
//	[--linger-ms L] [--batch-max-bytes B] [--compression none|snappy|lz4|zstd|gzip]
//
// Client settings are franz-go's defaults except what the flags set: acks, compression (none by
// default here, as the Java rows), idempotence (franz-go's default, on, for acks=-1; off for 0 and 1,
// which franz-go requires) and, without idempotence, 5 requests in flight per broker instead of
// franz-go's 1 (--max-inflight; the window idempotent franz-go and the Java client use). Every record has the same random payload of --record-size letters and no
// key (sticky partitioning). Latency is measured per record from Produce to its promise (for acks=0,
// when the request is written), as ProducerPerformance measures send → callback.
//
// Prints, like ProducerPerformance's last line (the bench parses it), then one JSON line:
//
//	N records sent, X records/sec (Y MB/sec), A ms avg latency, M ms max latency, P50 ms 50th, P95 ms 95th, P99 ms 99th, P999 ms 99.9th.
//
// Exits 1 if any record failed (the count and the first error are printed).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"
)

// perfRecord carries the send time beside the record: the promise gets the *kgo.Record back, which
// is the first field, so the start time is read without a per-record closure or map.
type perfRecord struct {
	kgo.Record
	startNanos int64
}

// Latency histogram: 10 µs buckets up to 60 s (the last bucket takes everything above).
const bucketMicros = 10
const bucketCount = 60_000_000 / bucketMicros

type stats struct {
	mu        sync.Mutex
	buckets   []uint32
	count     int64
	sumMicros float64
	maxMicros int64
}

func (s *stats) record(micros int64) {
	b := micros / bucketMicros
	if b >= bucketCount {
		b = bucketCount - 1
	}
	s.buckets[b]++
	s.count++
	s.sumMicros += float64(micros)
	if micros > s.maxMicros {
		s.maxMicros = micros
	}
}

func (s *stats) percentileMs(p float64) float64 {
	target := int64(p * float64(s.count))
	var seen int64
	for i, c := range s.buckets {
		seen += int64(c)
		if seen > target {
			return float64((i+1)*bucketMicros) / 1000
		}
	}
	return float64(s.maxMicros) / 1000
}

func main() {
	bootstrap := flag.String("bootstrap", "127.0.0.1:9092", "bootstrap servers, comma separated")
	topic := flag.String("topic", "", "topic (must exist)")
	numRecords := flag.Int("num-records", 1_000_000, "records to produce")
	recordSize := flag.Int("record-size", 100, "value bytes per record")
	acks := flag.String("acks", "1", "0, 1 or -1")
	lingerMs := flag.Int("linger-ms", -1, "linger (ms); -1: franz-go's default")
	batchMaxBytes := flag.Int("batch-max-bytes", -1, "ProducerBatchMaxBytes; -1: franz-go's default")
	compression := flag.String("compression", "none", "none, snappy, lz4, zstd, gzip")
	// franz-go keeps 1 request in flight per broker without idempotence; 5 is what it allows with
	// idempotence and the Java client's max.in.flight.requests.per.connection default, so every acks
	// row has the same window.
	inflight := flag.Int("max-inflight", 5, "produce requests in flight per broker without idempotence (acks 0 and 1)")
	flag.Parse()
	if *topic == "" || *numRecords <= 0 || *recordSize < 0 {
		fmt.Fprintln(os.Stderr, "usage: franz-perf --bootstrap B --topic T --num-records N --record-size S --acks 0|1|-1")
		os.Exit(2)
	}

	opts := []kgo.Opt{kgo.SeedBrokers(strings.Split(*bootstrap, ",")...), kgo.DefaultProduceTopic(*topic)}
	switch *acks {
	case "0":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(*inflight))
	case "1":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(*inflight))
	case "-1", "all":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	default:
		fmt.Fprintln(os.Stderr, "--acks must be 0, 1 or -1")
		os.Exit(2)
	}
	codecs := map[string]kgo.CompressionCodec{"none": kgo.NoCompression(), "snappy": kgo.SnappyCompression(),
		"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(), "gzip": kgo.GzipCompression()}
	codec, ok := codecs[*compression]
	if !ok {
		fmt.Fprintln(os.Stderr, "unknown --compression")
		os.Exit(2)
	}
	opts = append(opts, kgo.ProducerBatchCompression(codec))
	if *lingerMs >= 0 {
		opts = append(opts, kgo.ProducerLinger(time.Duration(*lingerMs)*time.Millisecond))
	}
	if *batchMaxBytes > 0 {
		opts = append(opts, kgo.ProducerBatchMaxBytes(int32(*batchMaxBytes)))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
	defer cl.Close()

	payload := make([]byte, *recordSize)
	rng := rand.New(rand.NewSource(1))
	for i := range payload {
		payload[i] = byte('A' + rng.Intn(26)) // as ProducerPerformance: random upper-case letters
	}

	st := &stats{buckets: make([]uint32, bucketCount)}
	var failed atomic.Int64
	var firstErr atomic.Value
	done := make(chan struct{})
	var finished atomic.Int64
	total := int64(*numRecords)
	promise := func(r *kgo.Record, err error) {
		pr := (*perfRecord)(unsafe.Pointer(r))
		micros := (time.Now().UnixNano() - pr.startNanos) / 1000
		if err != nil {
			if failed.Add(1) == 1 {
				firstErr.Store(err.Error())
			}
		}
		st.mu.Lock()
		st.record(micros)
		st.mu.Unlock()
		if finished.Add(1) == total {
			close(done)
		}
	}

	ctx := context.Background()
	start := time.Now()
	for i := 0; i < *numRecords; i++ {
		pr := &perfRecord{Record: kgo.Record{Value: payload}}
		pr.startNanos = time.Now().UnixNano()
		cl.Produce(ctx, &pr.Record, promise)
	}
	<-done
	elapsed := time.Since(start).Seconds()

	n := float64(total)
	mb := n * float64(*recordSize) / (1024 * 1024)
	fmt.Printf("%d records sent, %.1f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max latency, %.2f ms 50th, %.2f ms 95th, %.2f ms 99th, %.2f ms 99.9th.\n",
		total, n/elapsed, mb/elapsed, st.sumMicros/n/1000, float64(st.maxMicros)/1000,
		st.percentileMs(0.5), st.percentileMs(0.95), st.percentileMs(0.99), st.percentileMs(0.999))
	summary := map[string]any{"records": total, "seconds": elapsed, "failed": failed.Load(), "acks": *acks, "compression": *compression}
	if e, ok := firstErr.Load().(string); ok {
		summary["firstError"] = e
	}
	b, _ := json.Marshal(summary)
	fmt.Println(string(b))
	if failed.Load() > 0 {
		fmt.Fprintf(os.Stderr, "%d records failed, first: %v\n", failed.Load(), firstErr.Load())
		os.Exit(1)
	}
}
