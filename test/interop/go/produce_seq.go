// produce-seq: the franz-go producer of the replication failover test (test/faults/replication-failover.test.ts),
// the counterpart of `StandaloneKill.java produce`, with the same output so one checker reads both.
//
//	interop-franz produce-seq <bootstrap> <topic> <partitions> <count> <burst>
//
// The topic must exist. A kgo client at its defaults (idempotent, acks=all, unbounded record retries)
// sends records seq = 0..count-1: partition seq % partitions, key `k<seq>`, value `seq=<seq>;` + padding,
// header `seq=<seq>`; after every <burst> sends it sleeps 1 ms so the stream outlasts the kills.
// Prints `ACK <seq> <partition> <offset>` per acknowledged record, `ERR <seq> <error>` per failed one,
// then `DONE <acked> <failed>`. Output is flushed every 10 ms (the test schedules kills on ACK counts).
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func produceSeq(args []string) int {
	if len(args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: interop-franz produce-seq <bootstrap> <topic> <partitions> <count> <burst>")
		return 2
	}
	topic := args[1]
	partitionCount, err1 := strconv.Atoi(args[2])
	count, err2 := strconv.Atoi(args[3])
	burst, err3 := strconv.Atoi(args[4])
	if err1 != nil || err2 != nil || err3 != nil || partitionCount < 1 || count < 0 || burst < 1 {
		fmt.Fprintln(os.Stderr, "produce-seq: partitions, count and burst are positive integers")
		return 2
	}
	var mu sync.Mutex
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	line := func(s string) {
		mu.Lock()
		_, _ = out.WriteString(s)
		_ = out.WriteByte('\n')
		mu.Unlock()
	}
	stopFlusher := make(chan struct{})
	flusherDone := make(chan struct{})
	go func() {
		defer close(flusherDone)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				mu.Lock()
				_ = out.Flush()
				mu.Unlock()
			case <-stopFlusher:
				return
			}
		}
	}()
	finish := func() {
		close(stopFlusher)
		<-flusherDone
		mu.Lock()
		_ = out.Flush()
		mu.Unlock()
	}

	cl, err := kgo.NewClient(
		kgo.SeedBrokers(strings.Split(args[0], ",")...),
		kgo.ClientID("replication-failover-franz"),
		kgo.DefaultProduceTopic(topic),
		// The record names its partition (seq % partitions), as the Java program does.
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		finish()
		return 1
	}
	var acked, failed atomic.Int64
	padding := strings.Repeat("x", 80)
	ctx := context.Background()
	for seq := 0; seq < count; seq++ {
		s := seq
		r := &kgo.Record{
			Partition: int32(seq % partitionCount),
			Key:       []byte("k" + strconv.Itoa(seq)),
			Value:     []byte("seq=" + strconv.Itoa(seq) + ";" + padding),
			Headers:   []kgo.RecordHeader{{Key: "seq", Value: []byte(strconv.Itoa(seq))}},
		}
		cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			if err != nil {
				failed.Add(1)
				line("ERR " + strconv.Itoa(s) + " " + strings.ReplaceAll(err.Error(), "\n", " "))
				return
			}
			acked.Add(1)
			line("ACK " + strconv.Itoa(s) + " " + strconv.Itoa(int(r.Partition)) + " " + strconv.FormatInt(r.Offset, 10))
		})
		if seq%burst == burst-1 {
			time.Sleep(time.Millisecond)
		}
	}
	if err := cl.Flush(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "flush:", err)
	}
	cl.Close()
	line(fmt.Sprintf("DONE %d %d", acked.Load(), failed.Load()))
	finish()
	return 0
}
