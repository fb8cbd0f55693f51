// Preloaded into every test process by scripts/run-tests.mjs. Each test file runs in a child process
// that reports its results to the runner over its stdout, a pipe. Under --test-force-exit the child
// calls process.exit() when its last test ends, and on Linux a pipe's stdout is non-blocking, so
// reports still queued in the process are dropped: the runner then counts fewer tests, with no failure
// and exit 0 (nodejs/node#64833; here 4,878 instead of 4,890 tests in test/protocol, one run in three).
// A blocking stdout makes every report reach the pipe before the process can exit.
process.stdout._handle?.setBlocking?.(true);
