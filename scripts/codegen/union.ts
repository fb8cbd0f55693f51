/**
 * The union of two spec copies: an older one (Kafka trunk of October 2024, with the wide pre-KIP-896
 * version ranges that old clients still send) and a newer one (Kafka 4.4.0, with every version added
 * since and narrower lower bounds). Each message's versions are the union of both copies' versions; the
 * newer copy decides every version it defines, the older one the versions only it defines.
 *
 * Kafka dropped versions only at the bottom of a range (KIP-896), so the versions only the older copy
 * defines always lie below the newer copy's lowest one. A merged message is one spec whose fields carry
 * the older copy's presence below that bound and the newer copy's from it on; fields Kafka deleted along
 * with the versions that used them (AlterPartition's TopicName, ListOffsets' MaxNumOffsets, …) come back
 * for those versions only. `wireLayout` then proves, version by version, that the merged message
 * encodes exactly as the copy that decides that version: a merge the rules cannot express is refused,
 * never emitted.
 */
import {
  type Field, type FieldType, type Message, type Struct, type Versions, SpecError, contains, formatVersions, intersect,
  isEmpty, noVersions, structOf,
} from './model.js';

/** The key under which two copies of one message meet: API key and direction, or the name of a data/header. */
function messageKey(m: Message): string {
  return m.apiKey !== null && (m.type === 'request' || m.type === 'response') ? `${m.type}:${m.apiKey}` : `${m.type}:${m.name}`;
}

/** Every message of both copies, one per key; pairs are merged. Order: by file name of the result. */
export function unionMessages(older: readonly Message[], newer: readonly Message[]): Message[] {
  const byKey = new Map<string, Message>();
  for (const m of older) byKey.set(messageKey(m), m);
  for (const n of newer) {
    const key = messageKey(n);
    const o = byKey.get(key);
    byKey.set(key, o === undefined ? n : mergeMessage(o, n));
  }
  // A copy may define a message with no versions at all (Kafka 4.4's LeaderAndIsr: "none"); one without
  // a version in either copy has nothing to generate.
  return [...byKey.values()].filter((m) => !isEmpty(m.validVersions)).sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

function union(a: Versions, b: Versions): Versions {
  if (isEmpty(a)) return b;
  if (isEmpty(b)) return a;
  if (a.hi + 1 < b.lo || b.hi + 1 < a.lo) throw new SpecError(`versions ${formatVersions(a)} and ${formatVersions(b)} leave a gap`);
  return { lo: Math.min(a.lo, b.lo), hi: Math.max(a.hi, b.hi) };
}

export function mergeMessage(o: Message, n: Message): Message {
  if (isEmpty(n.validVersions)) return o;
  const where = `${o.file} + ${n.file}`;
  const { lo } = n.validVersions;
  // Versions only the older copy defines must all lie below the newer copy's range.
  if (o.validVersions.hi > n.validVersions.hi) throw new SpecError(`${where}: the older copy defines versions above the newer one`);
  const below: Versions = o.validVersions.lo < lo ? { lo: 0, hi: lo - 1 } : noVersions;
  if (isEmpty(below)) return n;
  {
    const oldFlexible = intersect(o.flexibleVersions, below);
    const newFlexible = intersect(n.flexibleVersions, below);
    if (formatVersions(oldFlexible) !== formatVersions(newFlexible) && !isEmpty(oldFlexible)) {
      throw new SpecError(`${where}: flexibleVersions differ below v${lo}`);
    }
  }
  const merger = new Merger(o, n, below, where);
  const structs = new Map<string, Struct>();
  merger.mergeStruct(o.name, n.name, structs);
  // Common structs no field reaches in the merged message are left out, as the newer copy has them.
  const merged: Message = {
    ...n,
    validVersions: union(o.validVersions, n.validVersions),
    structs,
  };
  for (let v = merged.validVersions.lo; v <= merged.validVersions.hi; v++) {
    const decider = contains(n.validVersions, v) ? n : o;
    const expected = wireLayout(decider, v);
    const actual = wireLayout(merged, v);
    if (expected !== actual) throw new SpecError(`${where}: merged v${v} differs from ${decider.file}:\n  ${actual}\n  ${expected}`);
  }
  return merged;
}

class Merger {
  constructor(
    readonly o: Message,
    readonly n: Message,
    /** The versions the older copy decides. */
    readonly below: Versions,
    readonly where: string,
  ) {}

  /** Merges struct oName of the older copy into nName of the newer one, under nName. */
  mergeStruct(oName: string | null, nName: string, out: Map<string, Struct>): void {
    if (out.has(nName)) return;
    const ns = this.n.structs.get(nName);
    if (ns === undefined) throw new SpecError(`${this.where}: unknown struct ${nName}`);
    const os = oName === null ? undefined : this.o.structs.get(oName);
    out.set(nName, { name: nName, fields: [] });
    const oldFields = os?.fields ?? [];
    const newNames = new Set(ns.fields.map((f) => f.name));
    const fields: Field[] = [];
    let oi = 0;
    for (const nf of ns.fields) {
      const of = oldFields.find((f) => f.name === nf.name);
      if (of !== undefined) {
        // Fields the older copy places before this one and the newer copy lacks come first.
        const at = oldFields.indexOf(of);
        if (at < oi) throw new SpecError(`${this.where}: ${nName}.${nf.name} moved relative to another field`);
        for (; oi < at; oi++) this.pushOldOnly(oldFields[oi], newNames, fields, out);
        oi = at + 1;
      }
      fields.push(this.mergeField(of, nf, `${nName}.${nf.name}`, out));
    }
    for (; oi < oldFields.length; oi++) this.pushOldOnly(oldFields[oi], newNames, fields, out);
    out.set(nName, { name: nName, fields });
  }

  private pushOldOnly(of: Field, newNames: Set<string>, fields: Field[], out: Map<string, Struct>): void {
    if (newNames.has(of.name)) return;
    const versions = intersect(of.versions, this.below);
    if (isEmpty(versions)) return;
    const sub = structOf(of.type);
    if (sub !== null) this.copyOldStruct(sub, out);
    fields.push({
      ...of,
      versions,
      nullableVersions: intersect(of.nullableVersions, this.below),
      taggedVersions: intersect(of.taggedVersions, this.below),
      tag: isEmpty(intersect(of.taggedVersions, this.below)) ? null : of.tag,
    });
  }

  /** A struct only the older copy has (under a field Kafka later deleted): copied with its versions capped. */
  private copyOldStruct(name: string, out: Map<string, Struct>): void {
    if (out.has(name)) return;
    if (this.n.structs.has(name)) throw new SpecError(`${this.where}: struct ${name} would clash with the newer copy's`);
    const s = this.o.structs.get(name);
    if (s === undefined) throw new SpecError(`${this.where}: unknown struct ${name}`);
    out.set(name, { name, fields: [] });
    const fields: Field[] = [];
    for (const f of s.fields) this.pushOldOnly(f, new Set(), fields, out);
    out.set(name, { name, fields });
  }

  private mergeField(of: Field | undefined, nf: Field, here: string, out: Map<string, Struct>): Field {
    const above: Versions = { lo: this.n.validVersions.lo, hi: Infinity };
    const newPart = (v: Versions) => intersect(v, above);
    const oldPart = (v: Versions) => (of === undefined ? noVersions : intersect(v, this.below));
    const versions = this.glue(oldPart(of?.versions ?? noVersions), newPart(nf.versions), `${here}.versions`);
    if (of !== undefined && !isEmpty(oldPart(of.versions)) && typeKey(of.type) !== typeKey(nf.type)) {
      throw new SpecError(`${this.where}: ${here} changed type`);
    }
    const taggedOld = oldPart(of?.taggedVersions ?? noVersions);
    if (!isEmpty(taggedOld) && of?.tag !== nf.tag && !isEmpty(newPart(nf.taggedVersions))) {
      throw new SpecError(`${this.where}: ${here} changed tag`);
    }
    const sub = structOf(nf.type);
    if (sub !== null) this.mergeStruct(of === undefined ? null : structOf(of.type), sub, out);
    const taggedVersions = this.glue(taggedOld, newPart(nf.taggedVersions), `${here}.taggedVersions`);
    return {
      ...nf,
      versions,
      nullableVersions: this.glue(oldPart(of?.nullableVersions ?? noVersions), newPart(nf.nullableVersions), `${here}.nullableVersions`),
      taggedVersions,
      tag: isEmpty(taggedVersions) ? null : (nf.tag ?? of?.tag ?? null),
    };
  }

  /**
   * Joins the older copy's part (below) and the newer copy's (from the newer range's start on). The
   * generator's ranges are intervals, so the two must touch: a field present in old versions, absent in
   * the first new ones and back later cannot be one field.
   */
  private glue(oldPart: Versions, newPart: Versions, here: string): Versions {
    if (isEmpty(oldPart)) return newPart;
    if (isEmpty(newPart)) return oldPart;
    if (oldPart.hi + 1 !== newPart.lo) throw new SpecError(`${this.where}: ${here}: ${formatVersions(oldPart)} and ${formatVersions(newPart)} do not touch`);
    return { lo: oldPart.lo, hi: newPart.hi };
  }
}

function typeKey(t: FieldType): string {
  if (t.kind === 'array') return `[]${typeKey(t.element)}`;
  return t.kind === 'struct' ? 'struct' : t.name;
}

/**
 * What a version of a message looks like on the wire — field order, types, nullability, tags and tagged
 * defaults, recursively — as one string: two messages with the same layout encode every value alike.
 */
export function wireLayout(m: Message, version: number): string {
  const struct = (name: string): string => {
    const s = m.structs.get(name);
    if (s === undefined) throw new SpecError(`${m.file}: unknown struct ${name}`);
    return s.fields
      .filter((f) => contains(f.versions, version))
      .map((f) => {
        const sub = structOf(f.type);
        const tagged = contains(f.taggedVersions, version);
        const flexible = contains(f.flexibleVersions ?? m.flexibleVersions, version);
        return `${f.name}:${typeKey(f.type)}${contains(f.nullableVersions, version) ? '?' : ''}` +
          `${tagged ? `#${f.tag}=${f.defaultRaw}` : ''}${flexible ? '' : '!'}${sub === null ? '' : `{${struct(sub)}}`}`;
      })
      .join(',');
  };
  return `${contains(m.flexibleVersions, version) ? 'flexible ' : ''}${struct(m.name)}`;
}
