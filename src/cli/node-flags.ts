/**
 * The Node.js flags a Runnel broker process runs with: the `runnel` bin's shebang, `npm start`, and the
 * harnesses that spawn the CLI (bench, interop, faults) all use these, and test/cli checks they agree.
 *
 * --single-threaded-gc: the broker's JS heap stays ~10 MB, but every request frame and socket read is an
 * external ArrayBuffer, so V8 runs a small mark-compact every ~64 MB of traffic. With parallel and
 * concurrent GC, each one wakes V8's helper threads (4 by default); on a 2-core machine shared with the
 * producers, they took a third of the broker's CPU. Measured with franz-perf, 5M 100-byte records,
 * acks=1, fsync, 3 runs each (see docs/architecture.md, "Runtime"): broker CPU 1.98–2.23 s → 1.34–1.61 s,
 * 1.59–1.61M → 1.74–1.93M msg/s. V8 refuses the flag once it runs (setFlagsFromString aborts), so it
 * must be on the command line.
 *
 * --initial-old-space-size=64: V8 counts external memory allocated since the last mark-compact against
 * the old generation's limit, and with a ~10 MB heap that limit is ~34 MB, so ~7 MB of request frames and
 * socket reads (the rest is reserved for the new space) started a full incremental mark-compact: 6–10
 * per million 100-byte records, 20–40 ms of main-thread time each. Configuring the initial old space
 * makes it the floor below which V8 skips full GCs (Heap::ConfigureHeap), so they almost vanish (0–1 per
 * million) for at most 64 MB more heap. Measured on the 2-core VM, alternating brokers, fsync, acks=1
 * (see docs/architecture.md, "Runtime"): Java 1M × 100 B, 8 rounds beside Kafka: broker CPU 1.79 →
 * 1.53 s per million, 210k → 219k msg/s; franz-perf 5M, 6 rounds: 2.65 → 2.38 s, 1.55M → 1.59M msg/s;
 * peak RSS 140–149 → 174–177 MB.
 */
export const RUNNEL_NODE_FLAGS: readonly string[] = ['--single-threaded-gc', '--initial-old-space-size=64'];
