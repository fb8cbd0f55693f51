// The chaos suite's franz-go workloads (issue #23, test/chaos/workload.ts): clients we did not write, beside
// Kafka's VerifiableProducer / VerifiableConsumer, printing the same JSON events so one recorder
// (test/chaos/history.ts) reads both. Every line is {"timestamp": ms since the epoch, "name": ..., ...}.
//
//	interop-franz chaos-produce <bootstrap> <topic> <prefix> <records/s> <idempotent true|false> <acks all|1>
//	    A paced producer: values `<prefix>.<n>` for n = 0, 1, ..., keys `<n mod 1000>` (Kafka's murmur2
//	    partitioner, as VerifiableProducer --repeating-keys 1000). kgo at its defaults otherwise: unbounded
//	    retries within a 120 s delivery timeout; not idempotent: 5 requests in flight per broker, so a retry
//	    may write a record twice. Events: producer_send_success {value, partition, offset},
//	    producer_send_error {value, exception}, and on SIGTERM (after a bounded flush) tool_data {sent, acked}.
//	interop-franz chaos-assign <bootstrap> <topic> <partitions>
//	    A consumer by assignment (no group): every partition from its log start (kgo.ConsumePartitions).
//	    Events: partitions_assigned {partitions} once, record_data {partition, offset, value}, fetch_error.
//	interop-franz chaos-group <bootstrap> <topic> <group>
//	    A classic-protocol group member (kgo's default cooperative-sticky balancer), committing what it
//	    consumed every second and on every revocation (CommitOffsetsSync, one at a time). Events: partitions_assigned
//	    {generation, member_id, assigned, partitions}, where partitions is the member's whole assignment in
//	    that generation (cooperative assignments are incremental); partitions_revoked / partitions_lost
//	    {generation, member_id, partitions (those given up), owned}; record_data; offsets_committed
//	    {generation, member_id, offsets, success, error} per commit response (one event per outcome).
//
// SIGTERM / SIGINT end every mode cleanly (the harness stops clients that way, as it stops the Java tools).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// events prints one JSON object per line, flushed every 10 ms (the harness follows progress live).
type events struct {
	mu   sync.Mutex
	out  *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

func newEvents() *events {
	e := &events{out: bufio.NewWriterSize(os.Stdout, 1<<16), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(e.done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				e.mu.Lock()
				_ = e.out.Flush()
				e.mu.Unlock()
			case <-e.stop:
				return
			}
		}
	}()
	return e
}

func (e *events) emit(name string, fields map[string]any) {
	fields["timestamp"] = time.Now().UnixMilli()
	fields["name"] = name
	b, err := json.Marshal(fields)
	if err != nil {
		b = []byte(`{"name":"marshal_error"}`)
	}
	e.mu.Lock()
	_, _ = e.out.Write(b)
	_ = e.out.WriteByte('\n')
	e.mu.Unlock()
}

func (e *events) close() {
	close(e.stop)
	<-e.done
	e.mu.Lock()
	_ = e.out.Flush()
	e.mu.Unlock()
}

// terminated is canceled on SIGTERM / SIGINT.
func terminated() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }

func chaosProduce(args []string) int {
	if len(args) != 6 {
		fmt.Fprintln(os.Stderr, "usage: interop-franz chaos-produce <bootstrap> <topic> <prefix> <records/s> <idempotent true|false> <acks all|1>")
		return 2
	}
	prefix, err1 := strconv.Atoi(args[2])
	rate, err2 := strconv.ParseFloat(args[3], 64)
	idempotent, err3 := strconv.ParseBool(args[4])
	if err1 != nil || err2 != nil || err3 != nil || rate <= 0 || (args[5] != "all" && args[5] != "1") || (idempotent && args[5] != "all") {
		fmt.Fprintln(os.Stderr, "chaos-produce: prefix an integer, records/s > 0, idempotent true|false, acks all|1 (idempotence needs all)")
		return 2
	}
	ev := newEvents()
	defer ev.close()
	opts := []kgo.Opt{
		kgo.SeedBrokers(strings.Split(args[0], ",")...),
		kgo.ClientID("chaos-franz-producer-" + args[2]),
		kgo.DefaultProduceTopic(args[1]),
		kgo.RecordDeliveryTimeout(120 * time.Second),
		kgo.RequestTimeoutOverhead(15 * time.Second),
	}
	if args[5] == "1" {
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()))
	} else {
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	}
	if !idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(5))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		return 1
	}
	ctx, stop := terminated()
	defer stop()
	var acked atomic.Int64
	sent := 0
	interval := time.Duration(float64(time.Second) / rate)
	next := time.Now()
	for ctx.Err() == nil {
		value := strconv.Itoa(prefix) + "." + strconv.Itoa(sent)
		r := &kgo.Record{Key: []byte(strconv.Itoa(sent % 1000)), Value: []byte(value)}
		// Produce blocks while kgo's buffer is full (a long fault): pacing waits with it, as
		// VerifiableProducer's send does when buffer.memory is exhausted. Not the SIGTERM context: kgo
		// fails every buffered record whose context ends, and those must get their flush below.
		cl.Produce(context.Background(), r, func(r *kgo.Record, err error) {
			if err != nil {
				ev.emit("producer_send_error", map[string]any{"value": string(r.Value), "key": string(r.Key), "exception": oneLine(err)})
				return
			}
			acked.Add(1)
			ev.emit("producer_send_success", map[string]any{"value": string(r.Value), "key": string(r.Key), "partition": r.Partition, "offset": r.Offset})
		})
		sent++
		next = next.Add(interval)
		if wait := time.Until(next); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		} else if wait < -time.Second {
			next = time.Now() // do not burst to catch up after a stall
		}
	}
	flushCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	if err := cl.Flush(flushCtx); err != nil {
		fmt.Fprintln(os.Stderr, "flush:", err)
	}
	cancel()
	cl.Close()
	ev.emit("tool_data", map[string]any{"sent": sent, "acked": acked.Load()})
	return 0
}

type partitionRef struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
}

func refs(topic string, ps []int32) []partitionRef {
	sorted := append([]int32(nil), ps...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	out := make([]partitionRef, 0, len(sorted))
	for _, p := range sorted {
		out = append(out, partitionRef{topic, p})
	}
	return out
}

// consume polls until ctx ends, printing record_data and fetch_error events; every tick (if any) is called
// between polls.
func consume(ctx context.Context, cl *kgo.Client, ev *events, tick func()) {
	for ctx.Err() == nil {
		fetches := cl.PollRecords(ctx, 1000)
		fetches.EachError(func(topic string, partition int32, err error) {
			if ctx.Err() == nil {
				ev.emit("fetch_error", map[string]any{"topic": topic, "partition": partition, "error": oneLine(err)})
			}
		})
		fetches.EachRecord(func(r *kgo.Record) {
			ev.emit("record_data", map[string]any{"topic": r.Topic, "partition": r.Partition, "offset": r.Offset, "key": string(r.Key), "value": string(r.Value)})
		})
		if tick != nil {
			tick()
		}
	}
}

func chaosAssign(args []string) int {
	if len(args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: interop-franz chaos-assign <bootstrap> <topic> <partitions>")
		return 2
	}
	count, err := strconv.Atoi(args[2])
	if err != nil || count < 1 {
		fmt.Fprintln(os.Stderr, "chaos-assign: partitions is a positive integer")
		return 2
	}
	ev := newEvents()
	defer ev.close()
	topic := args[1]
	offsets := map[int32]kgo.Offset{}
	all := make([]int32, 0, count)
	for p := int32(0); p < int32(count); p++ {
		offsets[p] = kgo.NewOffset().AtStart()
		all = append(all, p)
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(strings.Split(args[0], ",")...),
		kgo.ClientID("chaos-franz-assign"),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		return 1
	}
	ctx, stop := terminated()
	defer stop()
	ev.emit("partitions_assigned", map[string]any{"partitions": refs(topic, all)})
	consume(ctx, cl, ev, nil)
	cl.Close()
	return 0
}

func chaosGroup(args []string) int {
	if len(args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: interop-franz chaos-group <bootstrap> <topic> <group>")
		return 2
	}
	ev := newEvents()
	defer ev.close()
	topic := args[1]
	var mu sync.Mutex
	owned := map[int32]bool{}
	ownedList := func() []int32 {
		out := make([]int32, 0, len(owned))
		for p := range owned {
			out = append(out, p)
		}
		return out
	}
	logCommit := func(cl *kgo.Client, req *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		base := func() map[string]any {
			return map[string]any{"generation": req.Generation, "member_id": req.MemberID}
		}
		if err != nil {
			var offsets []map[string]any
			for _, t := range req.Topics {
				for _, p := range t.Partitions {
					offsets = append(offsets, map[string]any{"topic": t.Topic, "partition": p.Partition, "offset": p.Offset})
				}
			}
			if len(offsets) > 0 {
				f := base()
				f["offsets"], f["success"], f["error"] = offsets, false, oneLine(err)
				ev.emit("offsets_committed", f)
			}
			return
		}
		// The member commits one topic. Responses are matched to the request by partition: OffsetCommit
		// v10+ answers with topic ids, and kgo fills the names in only when the response is for the
		// member's current generation (a lookup by name logged offset 0 for a commit answered after the
		// member lost its partitions: Kafka 4.4.0, chaos `--broker kafka --seed 1`).
		sent := map[int32]int64{}
		for _, t := range req.Topics {
			for _, p := range t.Partitions {
				sent[p.Partition] = p.Offset
			}
		}
		var ok, failed []map[string]any
		errs := []string{}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				offset, known := sent[p.Partition]
				if !known {
					continue
				}
				o := map[string]any{"topic": topic, "partition": p.Partition, "offset": offset}
				if p.ErrorCode == 0 {
					ok = append(ok, o)
				} else {
					failed = append(failed, o)
					errs = append(errs, "error code "+strconv.Itoa(int(p.ErrorCode)))
				}
			}
		}
		if len(ok) > 0 {
			f := base()
			f["offsets"], f["success"] = ok, true
			ev.emit("offsets_committed", f)
		}
		if len(failed) > 0 {
			f := base()
			f["offsets"], f["success"], f["error"] = failed, false, strings.Join(errs, ", ")
			ev.emit("offsets_committed", f)
		}
	}
	// Commits come from the poll loop and from the revoke callback, which kgo runs on its own goroutine.
	// CommitOffsetsSync queues a commit behind the one in flight with the offsets it was given, so two
	// snapshots taken concurrently can reach the coordinator newest first: the older one then moves the
	// group's committed offset back (chaos run `--faults loss --seed 6`: a revoke's snapshot taken while a
	// periodic commit hung in 13 s of packet loss was sent after it). One commit at a time, each with the
	// offsets read once the previous one is done, keeps the member's commits monotonic.
	// And only partitions the member owns (after OnPartitionsLost they are not its to commit).
	var commitMu sync.Mutex
	commit := func(ctx context.Context, cl *kgo.Client) {
		commitMu.Lock()
		defer commitMu.Unlock()
		offsets := cl.UncommittedOffsets()
		mu.Lock()
		for t, ps := range offsets {
			for p := range ps {
				if t != topic || !owned[p] {
					delete(ps, p)
				}
			}
			if len(ps) == 0 {
				delete(offsets, t)
			}
		}
		mu.Unlock()
		if len(offsets) > 0 {
			cl.CommitOffsetsSync(ctx, offsets, logCommit)
		}
	}
	giveUp := func(name string, cl *kgo.Client, gone map[string][]int32) {
		member, generation := cl.GroupMetadata()
		mu.Lock()
		for _, p := range gone[topic] {
			delete(owned, p)
		}
		left := ownedList()
		mu.Unlock()
		ev.emit(name, map[string]any{"generation": generation, "member_id": member, "partitions": refs(topic, gone[topic]), "owned": refs(topic, left)})
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(strings.Split(args[0], ",")...),
		kgo.ClientID("chaos-franz-group"),
		kgo.ConsumeTopics(topic),
		kgo.ConsumerGroup(args[2]),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.SessionTimeout(30*time.Second),
		kgo.OnPartitionsAssigned(func(ctx context.Context, cl *kgo.Client, assigned map[string][]int32) {
			// Called after every sync (even with nothing new): the member and generation are the ones
			// that sync completed, and owned is the member's whole assignment in that generation.
			member, generation := cl.GroupMetadata()
			mu.Lock()
			for _, p := range assigned[topic] {
				owned[p] = true
			}
			all := ownedList()
			mu.Unlock()
			ev.emit("partitions_assigned", map[string]any{"generation": generation, "member_id": member, "assigned": refs(topic, assigned[topic]), "partitions": refs(topic, all)})
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
			// Commit what was consumed before giving the partitions up (the callback franz-go documents
			// for manual commits), then record the revocation.
			commit(ctx, cl)
			giveUp("partitions_revoked", cl, revoked)
		}),
		kgo.OnPartitionsLost(func(ctx context.Context, cl *kgo.Client, lost map[string][]int32) {
			giveUp("partitions_lost", cl, lost)
		}),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		return 1
	}
	ctx, stop := terminated()
	defer stop()
	lastCommit := time.Now()
	consume(ctx, cl, ev, func() {
		if time.Since(lastCommit) >= time.Second && ctx.Err() == nil {
			lastCommit = time.Now()
			commit(ctx, cl)
		}
	})
	closeCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	commit(closeCtx, cl)
	cancel()
	// Close leaves the group; the revoke callback commits again (nothing new by then).
	cl.Close()
	return 0
}
