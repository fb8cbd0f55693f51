/**
 * The Node.js flags a Runnel broker process runs with: the `runnel` bin's shebang, `npm start`, and the
 * harnesses that spawn the CLI (bench, interop, faults) all use these, and test/cli checks they agree.
 *
 * --single-threaded-gc: the broker's JS heap stays ~10 MB, but every request frame and socket read is an
 * external ArrayBuffer, which V8 counts towards its next mark-compact (see below). With parallel and
 * concurrent GC, each one wakes V8's helper threads (4 by default); on a 2-core machine shared with the
 * producers, they took a third of the broker's CPU. Measured with franz-perf, 5M 100-byte records,
 * acks=1, fsync, 3 runs each (see docs/benchmarks.md, "Runtime probes"): broker CPU 1.98–2.23 s → 1.34–1.61 s,
 * 1.59–1.61M → 1.74–1.93M msg/s. V8 refuses the flag once it runs (setFlagsFromString aborts), so it
 * must be on the command line.
 *
 * --initial-old-space-size=64: V8 counts external memory allocated since the last mark-compact against
 * the old generation's limit (~34 MB for a ~10 MB heap), so every ~7 MB of traffic started a full GC:
 * 6–10 per million 100-byte records. A configured initial old space is the floor below which V8 skips
 * full GCs, so they almost vanish, for at most 64 MB more heap. Figures: docs/benchmarks.md, "Runtime probes".
 */
export const RUNNEL_NODE_FLAGS: readonly string[] = ['--single-threaded-gc', '--initial-old-space-size=64'];
