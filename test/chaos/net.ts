/**
 * The chaos harness's network (issue #23): each Runnel node runs in its own network namespace
 * (`rchaos-n<id>`), joined to the harness's namespace by a veth pair whose host end is on a Linux bridge
 * (`rchaos0`, 10.223.23.1/24); node <id> is 10.223.23.<id + 1>. Faults are nftables rules in one table the
 * harness owns inside each node's namespace (`inet runnel_chaos`): drops by peer address make partitions
 * that the processes cannot tell from real ones, and `numgen random` drops make packet loss.
 *
 * Why namespaces and not 127.0.0.N on the shared loopback: a connection from one loopback address to
 * another leaves with source 127.0.0.1 (the kernel's `local 127.0.0.0/8 ... src 127.0.0.1` route), and
 * Runnel does not bind the local address of its outgoing connections, so a rule "drop 127.0.0.2 →
 * 127.0.0.3" would never match node-to-node traffic. In a namespace each node's packets carry its own
 * address, and nothing the harness does touches the loopback the other processes of the machine use.
 *
 * Why nftables loss and not `tc netem`: the kernel of this machine has no netem (`tc qdisc add ... netem`,
 * and prio, sfq, fq, fq_codel, cake, answer "Specified qdisc kind is unknown"; no modules to load), so loss
 * is the kernel's own random drop (nft `numgen random mod 100 < P drop`). The qdiscs it has are pfifo,
 * bfifo, htb and tbf, so delay is **bandwidth shaping**: a token bucket (tbf) on both ends of a node's veth
 * pair (the node's end shapes what it sends, the bridge's end what it receives) at a low rate, whose queue
 * may hold a packet up to a bound (tbf `latency`) before dropping it. Packets wait only when the node's
 * traffic exceeds the rate, so the delay grows with the load, up to the bound: a slow, congested link, not
 * netem's fixed delay added to every packet.
 *
 * Everything created here is named with the `rchaos` prefix; `teardown()` removes all of it (deleting a
 * namespace removes its veth end, the peer, and its nftables table) and is safe to call twice; `setup()`
 * first removes leftovers of a harness that was killed before its finally ran.
 */
import { spawnSync } from 'node:child_process';

export const SUBNET = '10.223.23';
export const BRIDGE = 'rchaos0';
const NS_PREFIX = 'rchaos-n';
const TABLE = 'runnel_chaos';
const COMMAND_TIMEOUT_MS = 10_000;

export const nodeAddress = (id: number): string => `${SUBNET}.${id + 1}`;
export const namespaceOf = (id: number): string => `${NS_PREFIX}${id}`;
const hostVeth = (id: number): string => `rc-h${id}`;
const nodeVeth = (id: number): string => `rc-n${id}`;

/** The drops in force on one node, applied in its own namespace. */
export interface NodeRules {
  /** Peer addresses whose packets this node drops on input. */
  readonly dropFrom: ReadonlySet<string>;
  /** Peer addresses this node's packets to are dropped on output. */
  readonly dropTo: ReadonlySet<string>;
  /** Percent of every packet on the node's link dropped, in and out (0 = none). */
  readonly lossPercent: number;
}

export const NO_RULES: NodeRules = { dropFrom: new Set(), dropTo: new Set(), lossPercent: 0 };

function run(command: string, args: string[], input?: string): { ok: boolean; out: string } {
  const r = spawnSync(command, args, { input, encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim() };
}

function must(command: string, args: string[], input?: string): string {
  const r = run(command, args, input);
  if (!r.ok) throw new Error(`${command} ${args.join(' ')}: ${r.out}`);
  return r.out;
}

/** Empty when the harness can build its network here, else why not (root, ip, nft, namespaces). */
export function networkMissing(): string {
  if (process.getuid?.() !== 0) return 'network faults need root (network namespaces, nftables)';
  if (!run('ip', ['-V']).ok) return 'no `ip` (iproute2) on PATH';
  if (!run('nft', ['--version']).ok) return 'no `nft` on PATH (apt-get install nftables)';
  return '';
}

/** Installs nftables with apt when `nft` is missing, as CI does (root only). */
export function ensureNft(log: (line: string) => void): void {
  if (run('nft', ['--version']).ok || process.getuid?.() !== 0) return;
  log('nft missing: apt-get install nftables');
  const install = (): boolean => run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'nftables']).ok;
  if (!install()) {
    run('apt-get', ['update', '-qq']);
    install();
  }
}

function rulesScript(id: number, rules: NodeRules): string {
  const link = nodeVeth(id);
  const set = (addresses: ReadonlySet<string>): string => `{ ${[...addresses].sort().join(', ')} }`;
  const input: string[] = [];
  const output: string[] = [];
  if (rules.dropFrom.size > 0) input.push(`ip saddr ${set(rules.dropFrom)} drop`);
  if (rules.dropTo.size > 0) output.push(`ip daddr ${set(rules.dropTo)} drop`);
  if (rules.lossPercent > 0) {
    input.push(`iifname "${link}" numgen random mod 100 < ${rules.lossPercent} drop`);
    output.push(`oifname "${link}" numgen random mod 100 < ${rules.lossPercent} drop`);
  }
  // "add table" then "delete table" makes the script idempotent; the table is rebuilt whole each time.
  return [
    `add table inet ${TABLE}`,
    `delete table inet ${TABLE}`,
    `table inet ${TABLE} {`,
    `  chain input { type filter hook input priority 0; policy accept; ${input.map((r) => `${r}; `).join('')}}`,
    `  chain output { type filter hook output priority 0; policy accept; ${output.map((r) => `${r}; `).join('')}}`,
    '}',
    '',
  ].join('\n');
}

/** A shaped link: rate and the longest a packet may queue (tbf's latency) before it is dropped. */
export interface Shaping { readonly rateKbit: number; readonly maxDelayMs: number }

/** What the two tbf qdiscs of a node's link did (from `tc -s qdisc`): bytes sent, packets dropped, overlimits. */
export interface ShapingStats { readonly sentBytes: number; readonly dropped: number; readonly overlimits: number }

function tbfArgs(device: string, shaping: Shaping): string[] {
  // burst: a small bucket (a couple of full-size frames, or 10 ms at the rate) so traffic is paced, not
  // let through in bursts; tbf splits a larger GSO packet into segments that fit (sch_tbf.c tbf_segment).
  const burstBytes = Math.max(4_096, Math.ceil((shaping.rateKbit * 1000) / 8 / 100));
  return ['qdisc', 'replace', 'dev', device, 'root', 'tbf', 'rate', `${shaping.rateKbit}kbit`, 'burst', String(burstBytes), 'latency', `${shaping.maxDelayMs}ms`];
}

export class ChaosNetwork {
  private readonly created = new Set<number>();
  private readonly shaped = new Set<number>();

  constructor(readonly nodeIds: readonly number[]) {}

  /** Bridge, one namespace + veth per node, an empty rules table in each. */
  setup(): void {
    this.teardown(true);
    must('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
    must('ip', ['addr', 'add', `${SUBNET}.1/24`, 'dev', BRIDGE]);
    must('ip', ['link', 'set', BRIDGE, 'up']);
    for (const id of this.nodeIds) {
      const ns = namespaceOf(id);
      must('ip', ['netns', 'add', ns]);
      this.created.add(id);
      must('ip', ['link', 'add', hostVeth(id), 'type', 'veth', 'peer', 'name', nodeVeth(id)]);
      must('ip', ['link', 'set', nodeVeth(id), 'netns', ns]);
      must('ip', ['link', 'set', hostVeth(id), 'master', BRIDGE]);
      must('ip', ['link', 'set', hostVeth(id), 'up']);
      must('ip', ['netns', 'exec', ns, 'ip', 'addr', 'add', `${nodeAddress(id)}/24`, 'dev', nodeVeth(id)]);
      must('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', nodeVeth(id), 'up']);
      must('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
      // Every rule form once, so a rule nft refuses fails here and not in the middle of a fault.
      this.apply(id, { dropFrom: new Set([nodeAddress(id)]), dropTo: new Set([`${SUBNET}.1`]), lossPercent: 1 });
      this.apply(id, NO_RULES);
      // And the shaping once (tbf must exist in this kernel), then removed.
      this.shape(id, { rateKbit: 1000, maxDelayMs: 100 });
      this.unshape(id);
    }
  }

  /** Shapes both directions of node id's link (replacing any shaping in force). */
  shape(id: number, shaping: Shaping): void {
    must('ip', ['netns', 'exec', namespaceOf(id), 'tc', ...tbfArgs(nodeVeth(id), shaping)]);
    this.shaped.add(id);
    must('tc', tbfArgs(hostVeth(id), shaping));
  }

  /** Removes node id's shaping (both ends back to the default qdisc). */
  unshape(id: number): void {
    run('ip', ['netns', 'exec', namespaceOf(id), 'tc', 'qdisc', 'del', 'dev', nodeVeth(id), 'root']);
    run('tc', ['qdisc', 'del', 'dev', hostVeth(id), 'root']);
    this.shaped.delete(id);
  }

  /** Totals of node id's two tbf qdiscs (zeros when it is not shaped). */
  shapingStats(id: number): ShapingStats {
    const outputs = [run('ip', ['netns', 'exec', namespaceOf(id), 'tc', '-s', 'qdisc', 'show', 'dev', nodeVeth(id)]).out, run('tc', ['-s', 'qdisc', 'show', 'dev', hostVeth(id)]).out];
    let sentBytes = 0;
    let dropped = 0;
    let overlimits = 0;
    for (const out of outputs) {
      // "qdisc tbf 8001: root ... \n Sent 12345 bytes 67 pkt (dropped 8, overlimits 9 requeues 0)"
      const m = /qdisc tbf[^\n]*\n\s*Sent (\d+) bytes \d+ pkt \(dropped (\d+), overlimits (\d+)/.exec(out);
      if (m === null) continue;
      sentBytes += Number(m[1]);
      dropped += Number(m[2]);
      overlimits += Number(m[3]);
    }
    return { sentBytes, dropped, overlimits };
  }

  /** Replaces node id's rules (one nft transaction: the old rules go and the new ones come at once). */
  apply(id: number, rules: NodeRules): void {
    must('ip', ['netns', 'exec', namespaceOf(id), 'nft', '-f', '-'], rulesScript(id, rules));
  }

  /** The rules table of node id as nft lists it (for the run log). */
  list(id: number): string {
    return run('ip', ['netns', 'exec', namespaceOf(id), 'nft', 'list', 'table', 'inet', TABLE]).out;
  }

  healAll(): void {
    for (const id of this.created) this.apply(id, NO_RULES);
    for (const id of [...this.shaped]) this.unshape(id);
  }

  /**
   * Removes every namespace (with its veth pair and nft table) and the bridge. With `leftovers`, also
   * those of an earlier run whose harness died first (any `rchaos-n*` namespace). Never throws.
   */
  teardown(leftovers = false): void {
    const namespaces = new Set([...this.created].map(namespaceOf));
    if (leftovers) {
      for (const line of run('ip', ['netns', 'list']).out.split('\n')) {
        const name = line.split(' ')[0] ?? '';
        if (name.startsWith(NS_PREFIX)) namespaces.add(name);
      }
    }
    for (const ns of namespaces) run('ip', ['netns', 'del', ns]);
    this.created.clear();
    this.shaped.clear();
    for (const id of [1, 2, 3, 4, 5, 6]) run('ip', ['link', 'del', hostVeth(id)]);
    run('ip', ['link', 'del', BRIDGE]);
  }
}

/** The `ip netns exec` prefix that runs a command inside node id's namespace. */
export function inNamespace(id: number, command: string, args: readonly string[]): { command: string; args: string[] } {
  return { command: 'ip', args: ['netns', 'exec', namespaceOf(id), command, ...args] };
}
