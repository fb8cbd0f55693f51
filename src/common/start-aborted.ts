/** A start given up because its caller aborted it (a signal while the node still waited to join its cluster). */
export class StartAbortedError extends Error {
  constructor(during: string) {
    super(`start aborted while ${during}`);
    this.name = 'StartAbortedError';
  }
}
