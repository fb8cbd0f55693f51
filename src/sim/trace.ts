/** One-line descriptions of Raft messages for --verbose traces. */
import type { Entry, Message, Ready } from '../raft/core/types.js';

export function describeMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} t${m.term}`;
  switch (m.type) {
    case 'pre-vote':
    case 'vote':
      return `${head} last=${m.lastIndex}/${m.lastTerm}`;
    case 'vote-response':
    case 'pre-vote-response':
      return `${head} ${m.reject ? 'reject' : 'grant'}`;
    case 'append':
      return `${head} prev=${m.prevIndex}/${m.prevTerm} n=${m.entries.length} commit=${m.commitIndex}`;
    case 'append-response':
      return `${head} index=${m.index}${m.reject ? ` reject hint=${m.hintIndex}/${m.hintTerm}` : ''}`;
    case 'heartbeat':
      return `${head} commit=${m.commitIndex}${m.context === '' ? '' : ` ctx=${m.context}`}`;
    case 'heartbeat-response':
      return `${head}${m.context === '' ? '' : ` ctx=${m.context}`}`;
    case 'snapshot':
      return `${head} index=${m.snapshot.metadata.index}/${m.snapshot.metadata.term}`;
    case 'timeout-now':
      return head;
    case 'read-index':
      return `${head} ctx=${m.context}`;
    case 'read-index-response':
      return `${head} ctx=${m.context} index=${m.index}`;
  }
}

export function describeReady(ready: Ready): string {
  const parts = [`ready#${ready.id}`];
  if (ready.hardState !== undefined) parts.push(`hs=t${ready.hardState.term}/v${ready.hardState.vote}/c${ready.hardState.commitIndex}`);
  if (ready.snapshot !== undefined) parts.push(`snapshot=${ready.snapshot.metadata.index}/${ready.snapshot.metadata.term}`);
  if (ready.entries.length > 0) parts.push(`entries=${range(ready.entries)}`);
  if (ready.committedEntries.length > 0) parts.push(`apply=${range(ready.committedEntries)}`);
  if (ready.messages.length > 0) parts.push(`send=${ready.messages.length}`);
  return parts.join(' ');
}

function range(entries: readonly Entry[]): string {
  return `${entries[0]!.index}..${entries[entries.length - 1]!.index}`;
}
