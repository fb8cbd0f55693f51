/**
 * A log line that bad clients can trigger (a refused connection, a malformed frame) is written at most
 * `linesMax` times per `intervalMs`; the lines it held back are counted and reported as `suppressed` on
 * the next line it writes, so an attack shows in the log without the log becoming the attack.
 */
import type { Logger } from 'pino';

export interface RateLimitedLogOptions {
  readonly linesMax: number;
  readonly intervalMs: number;
  readonly nowMs: () => number;
}

export class RateLimitedLog {
  private windowStartMs = -Infinity;
  private linesInWindow = 0;
  private suppressed = 0;

  constructor(private readonly logger: Logger, private readonly options: RateLimitedLogOptions) {}

  warn(fields: Record<string, unknown>, message: string): void {
    const now = this.options.nowMs();
    if (now - this.windowStartMs >= this.options.intervalMs) {
      this.windowStartMs = now;
      this.linesInWindow = 0;
    }
    if (this.linesInWindow >= this.options.linesMax) {
      this.suppressed++;
      return;
    }
    this.linesInWindow++;
    if (this.suppressed > 0) {
      this.logger.warn({ ...fields, suppressed: this.suppressed }, message);
      this.suppressed = 0;
    } else {
      this.logger.warn(fields, message);
    }
  }

  /** Lines held back since the last one written. */
  get suppressedCount(): number {
    return this.suppressed;
  }
}
