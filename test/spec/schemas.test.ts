/**
 * The trace format v1 schemas (spec/schemas) against their contract (shared/design/trace-format.md):
 *
 *  1. everything the arbitraries generate parses, round-trips through JSON unchanged, and keeps its
 *     unknown extra fields;
 *  2. malformed input is rejected with an issue whose path names exactly the offending field
 *     (example table, then properties that corrupt one field of a generated valid event);
 *  3. the example trace of the format page parses line by line;
 *  4. the JSON Schema exported with `z.toJSONSchema` (what `figure2 schema trace` prints for third
 *     parties) accepts and rejects the same inputs, checked with ajv (draft 2020-12).
 *
 * The tables of required fields, integer fields, node-id fields, … below are written from the
 * format page, not derived from the schemas, so that a schema drifting from the contract fails here.
 */
import Ajv2020Module from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  AppendEvent,
  ApplyEvent,
  CommitEvent,
  ConfigEvent,
  CrashEvent,
  DropEvent,
  FailEvent,
  HeaderEvent,
  InfoEvent,
  InitEvent,
  InvokeEvent,
  Message,
  MESSAGE_TYPES,
  OkEvent,
  OP_KINDS,
  PersistEvent,
  RecvEvent,
  RestoreEvent,
  RoleEvent,
  SendEvent,
  SnapshotEvent,
  TimeoutEvent,
  TRACE_EVENT_KINDS,
  TraceEvent,
  TruncateEvent,
} from '../../spec/schemas/index.ts';
import type { MessageType, TraceEventKind } from '../../spec/schemas/index.ts';
import {
  arbDropEvent,
  arbEventOfKind,
  arbInvokeEvent,
  arbJsonValue,
  arbMessage,
  arbMessageOfType,
  arbRecvEvent,
  arbSendEvent,
  arbTraceEvent,
  EXTRA_KEY_PREFIX,
  type OperationKind,
} from '../support/arbitraries.ts';

// ---------------------------------------------------------------------------------------------
// JSON Schema export, compiled with ajv
// ---------------------------------------------------------------------------------------------

// ajv is CommonJS: under NodeNext the default import is `module.exports`, which TypeScript types as
// the module namespace; the class is its `.default` (at runtime `module.exports.default` is the
// class itself too, so this works both under tsc and under Node/vitest).
const Ajv2020 = Ajv2020Module.default;
// Strict mode stays ON: the exported schemas use only standard 2020-12 keywords. (If a future zod
// emits a keyword ajv does not know, this fails loudly instead of silently ignoring the keyword.)
const ajv = new Ajv2020({ strict: true, allErrors: false });
const traceEventJsonSchema = z.toJSONSchema(TraceEvent);
const messageJsonSchema = z.toJSONSchema(Message);
const validateEventJson: ValidateFunction = ajv.compile(traceEventJsonSchema);
const validateMessageJson: ValidateFunction = ajv.compile(messageJsonSchema);

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

type Segment = string | number;
type Path = readonly Segment[];
type Obj = Record<string, unknown>;

const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

/** The value at `path` (undefined when the path does not exist). */
function getAt(root: unknown, path: Path): unknown {
  let cur = root;
  for (const seg of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<Segment, unknown>)[seg];
  }
  return cur;
}

/** A deep copy of `root` with the value at `path` replaced by `value`. */
function withValueAt(root: unknown, path: Path, value: unknown): unknown {
  const copy: unknown = structuredClone(root);
  const parent = getAt(copy, path.slice(0, -1));
  if (typeof parent !== 'object' || parent === null || path.length === 0) throw new Error(`no parent at ${pointer(path)}`);
  (parent as Record<Segment, unknown>)[path[path.length - 1]!] = value;
  return copy;
}

/** A deep copy of `root` without the key at `path`. */
function withoutKeyAt(root: unknown, path: Path): unknown {
  const copy: unknown = structuredClone(root);
  const parent = getAt(copy, path.slice(0, -1));
  if (!isObj(parent) || path.length === 0) throw new Error(`no parent object at ${pointer(path)}`);
  delete parent[String(path[path.length - 1])];
  return copy;
}

/** RFC 6901 JSON pointer, as in ajv's `instancePath`. */
function pointer(path: Path): string {
  return path.map((s) => '/' + String(s).replaceAll('~', '~0').replaceAll('/', '~1')).join('');
}

function ajvErrorsText(errors: readonly ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.keyword} ${JSON.stringify(e.params)}`).join('\n');
}

/** ajv located an error at `path`: either at that instance, or a `required` error naming it on its parent. */
function ajvBlames(errors: readonly ErrorObject[] | null | undefined, path: Path): boolean {
  const at = pointer(path);
  const parent = pointer(path.slice(0, -1));
  const last = path[path.length - 1];
  return (errors ?? []).some(
    (e) =>
      e.instancePath === at ||
      (e.keyword === 'required' && e.instancePath === parent && (e.params as { missingProperty?: unknown }).missingProperty === last),
  );
}

interface Validators {
  readonly schema: z.ZodType;
  readonly json: ValidateFunction;
}
const EVENT: Validators = { schema: TraceEvent, json: validateEventJson };
const MESSAGE: Validators = { schema: Message, json: validateMessageJson };

/** Both validators accept `value`, and Zod returns it unchanged (unknown fields included). */
function expectAccepted(value: unknown, v: Validators = EVENT): void {
  const r = v.schema.safeParse(value);
  expect(r.success, r.success ? '' : JSON.stringify(r.error.issues)).toBe(true);
  if (r.success) expect(r.data).toStrictEqual(value);
  expect(v.json(value), ajvErrorsText(v.json.errors)).toBe(true);
}

/**
 * Both validators reject `value`; Zod reports exactly one issue, at exactly `path` (and, when
 * given, with a message containing `message`); ajv reports an error at the same place.
 */
function expectRejectedAt(value: unknown, path: Path, opts: { message?: string; label?: string; v?: Validators } = {}): void {
  const v = opts.v ?? EVENT;
  const label = opts.label ?? '';
  const r = v.schema.safeParse(value);
  expect(r.success, `${label}: Zod accepted ${JSON.stringify(value)}`).toBe(false);
  if (r.success) return;
  expect(
    r.error.issues.map((i) => i.path),
    `${label}: issues ${JSON.stringify(r.error.issues)}`,
  ).toStrictEqual([path]);
  if (opts.message !== undefined) expect(r.error.issues[0]?.message).toContain(opts.message);
  expect(v.json(value), `${label}: JSON Schema accepted ${JSON.stringify(value)}`).toBe(false);
  expect(ajvBlames(v.json.errors, path), `${label}: ajv errors not at ${pointer(path)}:\n${ajvErrorsText(v.json.errors)}`).toBe(true);
}

const jsonRoundTrip = (x: unknown): unknown => JSON.parse(JSON.stringify(x));

// ---------------------------------------------------------------------------------------------
// The contract, as tables written from trace-format.md
// ---------------------------------------------------------------------------------------------

/** Required fields of each event (the Events table; `node` for events that happen on a node). */
const REQUIRED_EVENT_FIELDS: Record<TraceEventKind, readonly string[]> = {
  header: ['ev', 'format', 'version', 'cluster'],
  init: ['ev', 'node', 'term', 'votedFor', 'lastIndex', 'lastTerm', 'snapshotIndex', 'snapshotTerm'],
  crash: ['ev', 'node'],
  timeout: ['ev', 'node', 'kind'],
  role: ['ev', 'node', 'role', 'term'],
  send: ['ev', 'node', 'to', 'msg'],
  recv: ['ev', 'node', 'from', 'msg'],
  drop: ['ev', 'from', 'to'],
  append: ['ev', 'node', 'entries'],
  truncate: ['ev', 'node', 'from'],
  persist: ['ev', 'node', 'term', 'votedFor', 'lastIndex'],
  commit: ['ev', 'node', 'commitIndex'],
  apply: ['ev', 'node', 'index', 'term'],
  snapshot: ['ev', 'node', 'lastIncludedIndex', 'lastIncludedTerm'],
  restore: ['ev', 'node', 'lastIncludedIndex', 'lastIncludedTerm'],
  config: ['ev', 'node', 'voters'],
  invoke: ['ev', 'client', 'opId', 'op'],
  ok: ['ev', 'client', 'opId'],
  fail: ['ev', 'client', 'opId', 'error'],
  info: ['ev', 'client', 'opId'],
};

/** Required fields of each message (the Messages table). */
const REQUIRED_MESSAGE_FIELDS: Record<MessageType, readonly string[]> = {
  RequestVote: ['type', 'term', 'candidateId', 'lastLogIndex', 'lastLogTerm'],
  RequestVoteResponse: ['type', 'term', 'voteGranted'],
  AppendEntries: ['type', 'term', 'leaderId', 'prevLogIndex', 'prevLogTerm', 'entries', 'leaderCommit'],
  AppendEntriesResponse: ['type', 'term', 'success'],
  InstallSnapshot: ['type', 'term', 'leaderId', 'lastIncludedIndex', 'lastIncludedTerm'],
  InstallSnapshotResponse: ['type', 'term'],
  TimeoutNow: ['type', 'term', 'leaderId'],
};

const REQUIRED_STATE_FIELDS = ['term', 'votedFor', 'role', 'commitIndex', 'lastIndex', 'lastTerm'] as const;
const REQUIRED_LOG_ENTRY_FIELDS = ['index', 'term'] as const;
const REQUIRED_MESSAGE_ENTRY_FIELDS = ['term'] as const;
const REQUIRED_CONFIGURATION_FIELDS = ['voters'] as const;
/** A cas needs the value to write and the expected one (null: "only if absent"). */
const REQUIRED_OP_FIELDS: Record<OperationKind, readonly string[]> = {
  get: ['kind', 'key'],
  put: ['kind', 'key', 'value'],
  delete: ['kind', 'key'],
  cas: ['kind', 'key', 'expected', 'value'],
};

/** Integer fields with their lower bound: terms and indices ≥ 0, entry indices (and `truncate.from`) ≥ 1. */
type IntFields = Readonly<Record<string, number>>;
const EVENT_INT_FIELDS: Record<TraceEventKind, IntFields> = {
  header: {},
  init: { term: 0, lastIndex: 0, lastTerm: 0, snapshotIndex: 0, snapshotTerm: 0, commitIndex: 0, lastApplied: 0 },
  crash: {},
  timeout: {},
  role: { term: 0 },
  send: {},
  recv: {},
  drop: {},
  append: {},
  truncate: { from: 1 },
  persist: { term: 0, lastIndex: 0 },
  commit: { commitIndex: 0 },
  apply: { index: 1, term: 0 },
  snapshot: { lastIncludedIndex: 0, lastIncludedTerm: 0 },
  restore: { lastIncludedIndex: 0, lastIncludedTerm: 0 },
  config: {},
  invoke: {},
  ok: {},
  fail: {},
  info: {},
};
const MESSAGE_INT_FIELDS: Record<MessageType, IntFields> = {
  RequestVote: { term: 0, lastLogIndex: 0, lastLogTerm: 0 },
  RequestVoteResponse: { term: 0 },
  AppendEntries: { term: 0, prevLogIndex: 0, prevLogTerm: 0, leaderCommit: 0 },
  AppendEntriesResponse: { term: 0, matchIndex: 0, conflictIndex: 0, conflictTerm: 0 },
  InstallSnapshot: { term: 0, lastIncludedIndex: 0, lastIncludedTerm: 0, offset: 0, size: 0 },
  InstallSnapshotResponse: { term: 0, lastIncludedIndex: 0 },
  TimeoutNow: { term: 0 },
};
const STATE_INT_FIELDS: IntFields = { term: 0, commitIndex: 0, lastIndex: 0, lastTerm: 0, snapshotIndex: 0, snapshotTerm: 0 };
const ENTRY_INT_FIELDS: IntFields = { index: 1, term: 0 };

/** Fields holding one node id (non-empty string). `votedFor` only when it is not null. */
const EVENT_NODE_ID_FIELDS: Record<TraceEventKind, readonly string[]> = {
  header: [],
  init: ['node', 'votedFor'],
  crash: ['node'],
  timeout: ['node'],
  role: ['node'],
  send: ['node', 'to'],
  recv: ['node', 'from'],
  drop: ['node', 'from', 'to'],
  append: ['node'],
  truncate: ['node'],
  persist: ['node', 'votedFor'],
  commit: ['node'],
  apply: ['node'],
  snapshot: ['node'],
  restore: ['node', 'from'],
  config: ['node'],
  invoke: ['node'],
  ok: [],
  fail: [],
  info: [],
};
/** Fields holding a list of node ids. */
const EVENT_NODE_ID_LIST_FIELDS: Partial<Record<TraceEventKind, readonly string[]>> = {
  header: ['cluster'],
  config: ['voters', 'learners', 'joint'],
};
const CONFIGURATION_NODE_ID_LIST_FIELDS = ['voters', 'learners', 'joint'] as const;
const MESSAGE_NODE_ID_FIELDS: Record<MessageType, readonly string[]> = {
  RequestVote: ['candidateId'],
  RequestVoteResponse: [],
  AppendEntries: ['leaderId'],
  AppendEntriesResponse: [],
  InstallSnapshot: ['leaderId'],
  InstallSnapshotResponse: [],
  TimeoutNow: ['leaderId'],
};
const MESSAGE_BOOLEAN_FIELDS: Record<MessageType, readonly string[]> = {
  RequestVote: ['preVote'],
  RequestVoteResponse: ['voteGranted', 'preVote'],
  AppendEntries: [],
  AppendEntriesResponse: ['success'],
  InstallSnapshot: ['done'],
  InstallSnapshotResponse: [],
  TimeoutNow: [],
};

const ROLES = ['follower', 'candidate', 'leader', 'precandidate'] as const;
const ENTRY_KINDS = ['command', 'noop', 'config'] as const;
const TIMEOUT_KINDS = ['election', 'heartbeat'] as const;

/** A field of a generated event that a property corrupts. */
interface Site {
  readonly path: Path;
  /** Lower bound of an integer field. */
  readonly min?: number;
  /** Allowed values of an enum field. */
  readonly allowed?: readonly string[];
}

const messageOf = (e: TraceEvent): Obj | undefined =>
  (e.ev === 'send' || e.ev === 'recv' || e.ev === 'drop') && isObj(e.msg) ? e.msg : undefined;
const msgType = (m: Obj): MessageType => m['type'] as MessageType;
const entriesOf = (e: TraceEvent): readonly unknown[] =>
  (e.ev === 'init' || e.ev === 'append') && Array.isArray(e.entries) ? e.entries : [];

function intSitesIn(obj: Obj, fields: IntFields, base: Path): Site[] {
  return Object.entries(fields)
    .filter(([key]) => typeof obj[key] === 'number')
    .map(([key, min]) => ({ path: [...base, key], min }));
}

/** Every integer field present in `e`, nested ones included. */
function intSites(e: TraceEvent): Site[] {
  const sites = intSitesIn(e, EVENT_INT_FIELDS[e.ev], []);
  if (isObj(e['state'])) sites.push(...intSitesIn(e['state'], STATE_INT_FIELDS, ['state']));
  entriesOf(e).forEach((en, i) => isObj(en) && sites.push(...intSitesIn(en, ENTRY_INT_FIELDS, ['entries', i])));
  const m = messageOf(e);
  if (m) {
    sites.push(...intSitesIn(m, MESSAGE_INT_FIELDS[msgType(m)], ['msg']));
    const entries = m['entries'];
    if (Array.isArray(entries)) {
      entries.forEach((en, i) => isObj(en) && sites.push(...intSitesIn(en, ENTRY_INT_FIELDS, ['msg', 'entries', i])));
    }
  }
  return sites;
}

function stringSitesIn(obj: Obj, fields: readonly string[], base: Path): Site[] {
  return fields.filter((key) => typeof obj[key] === 'string').map((key) => ({ path: [...base, key] }));
}
function listSitesIn(obj: Obj, fields: readonly string[], base: Path): Site[] {
  return fields.flatMap((key) => {
    const list = obj[key];
    return Array.isArray(list) ? list.map((_, i) => ({ path: [...base, key, i] })) : [];
  });
}

/** Every node-id field present in `e` (single ids and members of id lists), nested ones included. */
function nodeIdSites(e: TraceEvent): Site[] {
  const sites = stringSitesIn(e, EVENT_NODE_ID_FIELDS[e.ev], []);
  sites.push(...listSitesIn(e, EVENT_NODE_ID_LIST_FIELDS[e.ev] ?? [], []));
  if (isObj(e['state'])) sites.push(...stringSitesIn(e['state'], ['votedFor'], ['state']));
  if (e.ev === 'init' && isObj(e.config)) sites.push(...listSitesIn(e.config, CONFIGURATION_NODE_ID_LIST_FIELDS, ['config']));
  const m = messageOf(e);
  if (m) sites.push(...stringSitesIn(m, MESSAGE_NODE_ID_FIELDS[msgType(m)], ['msg']));
  return sites;
}

/** Every (non-discriminator) enum field present in `e`. */
function enumSites(e: TraceEvent): Site[] {
  const sites: Site[] = [];
  if (e.ev === 'role') sites.push({ path: ['role'], allowed: ROLES });
  if (e.ev === 'timeout') sites.push({ path: ['kind'], allowed: TIMEOUT_KINDS });
  if (isObj(e['state'])) sites.push({ path: ['state', 'role'], allowed: ROLES });
  entriesOf(e).forEach((en, i) => isObj(en) && 'kind' in en && sites.push({ path: ['entries', i, 'kind'], allowed: ENTRY_KINDS }));
  const entries = messageOf(e)?.['entries'];
  if (Array.isArray(entries)) {
    entries.forEach(
      (en, i) => isObj(en) && 'kind' in en && sites.push({ path: ['msg', 'entries', i, 'kind'], allowed: ENTRY_KINDS }),
    );
  }
  return sites;
}

/** Boolean fields of the message in `e`. */
function booleanSites(e: TraceEvent): Site[] {
  const m = messageOf(e);
  if (!m) return [];
  return MESSAGE_BOOLEAN_FIELDS[msgType(m)].filter((key) => typeof m[key] === 'boolean').map((key) => ({ path: ['msg', key] }));
}

/** An object inside an event, with the fields the contract requires of it. */
interface ObjectSite {
  readonly path: Path;
  readonly obj: Obj;
  readonly required: readonly string[];
}

function objectSites(e: TraceEvent): ObjectSite[] {
  const sites: ObjectSite[] = [{ path: [], obj: e, required: REQUIRED_EVENT_FIELDS[e.ev] }];
  if (isObj(e['state'])) sites.push({ path: ['state'], obj: e['state'], required: REQUIRED_STATE_FIELDS });
  entriesOf(e).forEach((en, i) => isObj(en) && sites.push({ path: ['entries', i], obj: en, required: REQUIRED_LOG_ENTRY_FIELDS }));
  if (e.ev === 'init' && isObj(e.config)) sites.push({ path: ['config'], obj: e.config, required: REQUIRED_CONFIGURATION_FIELDS });
  if (e.ev === 'invoke' && isObj(e.op)) sites.push({ path: ['op'], obj: e.op, required: REQUIRED_OP_FIELDS[e.op.kind] });
  const m = messageOf(e);
  if (m) {
    sites.push({ path: ['msg'], obj: m, required: REQUIRED_MESSAGE_FIELDS[msgType(m)] });
    const entries = m['entries'];
    if (Array.isArray(entries)) {
      entries.forEach(
        (en, i) => isObj(en) && sites.push({ path: ['msg', 'entries', i], obj: en, required: REQUIRED_MESSAGE_ENTRY_FIELDS }),
      );
    }
  }
  return sites;
}

/** A corruption of one field: `apply` maps the field's current value (and its site) to the bad value. */
interface Mutation {
  readonly name: string;
  readonly apply: (current: unknown, site: Site) => unknown;
}

/**
 * Property: take a generated valid event and a corruption chosen by fast-check; corrupt each of the
 * event's fields returned by `sites`, one at a time (every site, so that rare ones such as
 * `config.learners[3]` are not left to chance). Each corrupted event is rejected by Zod with exactly
 * one issue, at that field's path, and by the JSON Schema with an error at the same place.
 */
function assertSingleFieldCorruptions(
  source: fc.Arbitrary<TraceEvent>,
  sites: (e: TraceEvent) => Site[],
  mutations: fc.Arbitrary<Mutation>,
  numRuns = 150,
): void {
  fc.assert(
    fc.property(
      source.filter((e) => sites(e).length > 0),
      mutations,
      (event, mutation) => {
        for (const site of sites(event)) {
          const bad = withValueAt(event, site.path, mutation.apply(getAt(event, site.path), site));
          expectRejectedAt(bad, site.path, { label: `${mutation.name} at ${pointer(site.path)}` });
        }
      },
    ),
    { numRuns },
  );
}

// ---------------------------------------------------------------------------------------------
// 1. Valid values
// ---------------------------------------------------------------------------------------------

describe('generated valid values', () => {
  it.each(TRACE_EVENT_KINDS)('every generated %s event parses to itself, also after a JSON round trip', (kind) => {
    fc.assert(
      fc.property(arbEventOfKind(kind), (event) => {
        expect(event.ev).toBe(kind);
        expect(TraceEvent.parse(event)).toStrictEqual(event);
        expect(TraceEvent.parse(jsonRoundTrip(event))).toStrictEqual(event);
      }),
      { numRuns: 40 },
    );
  });

  it.each(MESSAGE_TYPES)('every generated %s message parses to itself, also after a JSON round trip', (type) => {
    fc.assert(
      fc.property(arbMessageOfType(type), (msg) => {
        expect(msg.type).toBe(type);
        expect(Message.parse(msg)).toStrictEqual(msg);
        expect(Message.parse(jsonRoundTrip(msg))).toStrictEqual(msg);
      }),
      { numRuns: 40 },
    );
  });

  it('every generated event survives NDJSON: stringify, parse, validate, stringify again gives the same line', () => {
    fc.assert(
      fc.property(arbTraceEvent, (event) => {
        const line = JSON.stringify(event);
        expect(line).not.toContain('\n');
        const reparsed = TraceEvent.parse(JSON.parse(line));
        expect(JSON.parse(JSON.stringify(reparsed))).toStrictEqual(JSON.parse(line));
      }),
      { numRuns: 150 },
    );
  });

  it('unknown fields are preserved at every level: event, state, msg, msg entries, log entries, op, config', () => {
    const x = { 'x-vendor': { nested: [1, 'two', null] }, rejectHint: 7 };
    const lines: unknown[] = [
      {
        ev: 'send',
        node: 'n1',
        to: 'n2',
        ...x,
        state: { term: 1, votedFor: 'n1', role: 'leader', commitIndex: 0, lastIndex: 1, lastTerm: 1, ...x },
        msg: {
          type: 'AppendEntries',
          term: 1,
          leaderId: 'n1',
          prevLogIndex: 0,
          prevLogTerm: 0,
          leaderCommit: 0,
          entries: [{ term: 1, index: 1, kind: 'noop', ...x }],
          ...x,
        },
      },
      { ev: 'append', node: 'n1', entries: [{ index: 1, term: 1, ...x }], ...x },
      { ev: 'invoke', client: 3, opId: 'a', op: { kind: 'cas', key: 'k', expected: null, value: 'v', ...x }, ...x },
      { ev: 'init', node: 'n1', term: 0, votedFor: null, lastIndex: 0, lastTerm: 0, snapshotIndex: 0, snapshotTerm: 0, config: { voters: ['n1'], ...x } },
      { ev: 'header', format: 'raft-trace', version: 1, cluster: [], meta: { anything: { goes: true } }, ...x },
      { ev: 'info', client: 'c1', opId: -4, ...x },
    ];
    for (const line of lines) {
      // toStrictEqual against the input: every extra key, at every level, is still there.
      expect(TraceEvent.parse(jsonRoundTrip(line))).toStrictEqual(line);
    }
  });

  it('a "__proto__" key is stripped by Zod (not preserved), and cannot inject fields through the prototype', () => {
    // JSON.parse makes "__proto__" an own property. Zod deliberately drops it instead of copying it
    // (copying would replace the result's prototype). This is the one exception to "unknown fields
    // are preserved"; what matters for the checker is that it cannot smuggle unvalidated fields in.
    const input: unknown = JSON.parse(
      '{"ev":"commit","node":"n1","commitIndex":1,"__proto__":{"state":{"term":-5,"role":"king"},"commitIndex":-1}}',
    );
    const parsed = TraceEvent.parse(input);
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.hasOwn(parsed, '__proto__')).toBe(false);
    expect((parsed as Obj)['state']).toBeUndefined();
    expect(parsed).toStrictEqual({ ev: 'commit', node: 'n1', commitIndex: 1 });
    expect(validateEventJson(input)).toBe(true);
  });

  it('the arbitraries cover every kind, every optional field present and absent, and extra fields at every level', () => {
    const seed = 20_240_601; // fixed so that this coverage check is deterministic
    const events = fc.sample(arbTraceEvent, { numRuns: 4000, seed });
    const kindsSeen = new Set(events.map((e) => e.ev));
    expect([...kindsSeen].sort(), `seed ${seed}`).toStrictEqual([...TRACE_EVENT_KINDS].sort());

    const eventSchemas: Record<TraceEventKind, { readonly shape: object }> = {
      header: HeaderEvent,
      init: InitEvent,
      crash: CrashEvent,
      timeout: TimeoutEvent,
      role: RoleEvent,
      send: SendEvent,
      recv: RecvEvent,
      drop: DropEvent,
      append: AppendEvent,
      truncate: TruncateEvent,
      persist: PersistEvent,
      commit: CommitEvent,
      apply: ApplyEvent,
      snapshot: SnapshotEvent,
      restore: RestoreEvent,
      config: ConfigEvent,
      invoke: InvokeEvent,
      ok: OkEvent,
      fail: FailEvent,
      info: InfoEvent,
    };
    for (const kind of TRACE_EVENT_KINDS) {
      const ofKind = events.filter((e) => e.ev === kind);
      for (const key of Object.keys(eventSchemas[kind].shape)) {
        const present = ofKind.filter((e) => Object.hasOwn(e, key)).length;
        const required = REQUIRED_EVENT_FIELDS[kind].includes(key);
        expect(present, `${kind}.${key} present (seed ${seed})`).toBeGreaterThan(0);
        if (!required) expect(present, `${kind}.${key} absent (seed ${seed})`).toBeLessThan(ofKind.length);
      }
    }

    const hasExtra = (o: unknown): boolean => isObj(o) && Object.keys(o).some((k) => k.startsWith(EXTRA_KEY_PREFIX));
    const levels: Record<string, (e: TraceEvent) => unknown[]> = {
      event: (e) => [e],
      state: (e) => [e['state']],
      msg: (e) => [messageOf(e)],
      'msg entry': (e) => {
        const entries = messageOf(e)?.['entries'];
        return Array.isArray(entries) ? entries : [];
      },
      'log entry': (e) => [...entriesOf(e)],
      op: (e) => (e.ev === 'invoke' ? [e.op] : []),
      config: (e) => (e.ev === 'init' ? [e.config] : []),
    };
    for (const [level, objectsOf] of Object.entries(levels)) {
      expect(events.some((e) => objectsOf(e).some(hasExtra)), `extra field on ${level} (seed ${seed})`).toBe(true);
    }

    const messages = fc.sample(arbMessage, { numRuns: 1000, seed });
    expect(new Set(messages.map((m) => m.type)).size).toBe(MESSAGE_TYPES.length);
    const ops = events.flatMap((e) => (e.ev === 'invoke' ? [e.op.kind] : []));
    expect(new Set(ops).size).toBe(OP_KINDS.length);
  });
});

// ---------------------------------------------------------------------------------------------
// 2. Malformed input
// ---------------------------------------------------------------------------------------------

const rv = { type: 'RequestVote', term: 1, candidateId: 'n1', lastLogIndex: 0, lastLogTerm: 0 };
const ae = {
  type: 'AppendEntries',
  term: 2,
  leaderId: 'n1',
  prevLogIndex: 3,
  prevLogTerm: 1,
  entries: [{ term: 1 }, { term: 2 }, { term: 2 }],
  leaderCommit: 3,
};
const state = { term: 1, votedFor: 'n1', role: 'candidate', commitIndex: 0, lastIndex: 0, lastTerm: 0 };

interface Malformed {
  readonly name: string;
  readonly value: unknown;
  readonly path: Path;
  readonly message?: string;
}

const MALFORMED: readonly Malformed[] = [
  { name: 'negative term', value: { ev: 'persist', node: 'n1', term: -1, votedFor: null, lastIndex: 0 }, path: ['term'] },
  { name: 'negative index', value: { ev: 'commit', node: 'n1', commitIndex: -3 }, path: ['commitIndex'] },
  { name: 'non-integer index', value: { ev: 'commit', node: 'n1', commitIndex: 1.5 }, path: ['commitIndex'] },
  { name: 'fractional number in a message', value: { ev: 'send', node: 'n1', to: 'n2', msg: { ...rv, lastLogIndex: 0.25 } }, path: ['msg', 'lastLogIndex'] },
  { name: 'unsafe integer (2^53)', value: { ev: 'role', node: 'n1', role: 'leader', term: 2 ** 53 }, path: ['term'] },
  { name: 'empty node id', value: { ev: 'send', node: 'n1', to: '', msg: rv }, path: ['to'] },
  { name: 'empty event node', value: { ev: 'crash', node: '' }, path: ['node'] },
  { name: 'empty candidateId', value: { ev: 'recv', node: 'n2', from: 'n1', msg: { ...rv, candidateId: '' } }, path: ['msg', 'candidateId'] },
  { name: 'empty id in cluster', value: { ev: 'header', format: 'raft-trace', version: 1, cluster: ['n1', ''] }, path: ['cluster', 1] },
  { name: 'missing required field', value: { ev: 'init', node: 'n1', term: 0, votedFor: null, lastIndex: 0, lastTerm: 0, snapshotIndex: 0 }, path: ['snapshotTerm'] },
  { name: 'missing node', value: { ev: 'commit', commitIndex: 1 }, path: ['node'] },
  { name: 'missing votedFor (null is not absent)', value: { ev: 'persist', node: 'n1', term: 1, lastIndex: 0 }, path: ['votedFor'] },
  { name: 'missing msg', value: { ev: 'send', node: 'n1', to: 'n2' }, path: ['msg'] },
  { name: 'missing fail error', value: { ev: 'fail', client: 'c1', opId: 1 }, path: ['error'] },
  { name: 'string where number expected', value: { ev: 'role', node: 'n1', role: 'leader', term: '1' }, path: ['term'] },
  { name: 'string index in an entry', value: { ev: 'append', node: 'n1', entries: [{ index: '1', term: 1 }] }, path: ['entries', 0, 'index'] },
  { name: 'number where string expected', value: { ev: 'ok', client: 'c1', opId: 1, value: 5 }, path: ['value'] },
  { name: 'entries not an array', value: { ev: 'append', node: 'n1', entries: { index: 1, term: 1 } }, path: ['entries'] },
  { name: 'boolean as string', value: { ev: 'recv', node: 'n1', from: 'n2', msg: { type: 'RequestVoteResponse', term: 1, voteGranted: 'true' } }, path: ['msg', 'voteGranted'] },
  { name: 'unknown ev', value: { ev: 'foo', node: 'n1' }, path: ['ev'], message: 'unknown event type "foo"' },
  { name: 'non-string ev', value: { ev: 3, node: 'n1' }, path: ['ev'], message: 'unknown event type 3' },
  { name: 'missing ev', value: { node: 'n1', term: 1 }, path: ['ev'], message: 'missing event type' },
  { name: 'unknown msg type', value: { ev: 'send', node: 'n1', to: 'n2', msg: { ...rv, type: 'Bogus' } }, path: ['msg', 'type'], message: 'unknown message type "Bogus"' },
  { name: 'missing msg type', value: { ev: 'drop', from: 'n1', to: 'n2', msg: { term: 1 } }, path: ['msg', 'type'], message: 'missing message type' },
  {
    name: 'bad nested field: msg.entries[2].term = -1',
    value: { ev: 'send', node: 'n1', to: 'n2', msg: { ...ae, entries: [{ term: 1 }, { term: 2 }, { term: -1 }] } },
    path: ['msg', 'entries', 2, 'term'],
  },
  // One issue, not two: before spec/schemas/messages.ts used EntryIndex, `Index.min(1)` reported
  // both ">= 0" and ">= 1" for a negative index.
  { name: 'negative msg entry index', value: { ev: 'send', node: 'n1', to: 'n2', msg: { ...ae, entries: [{ term: 1, index: -1 }] } }, path: ['msg', 'entries', 0, 'index'] },
  { name: 'msg entry index 0', value: { ev: 'send', node: 'n1', to: 'n2', msg: { ...ae, entries: [{ term: 1, index: 0 }] } }, path: ['msg', 'entries', 0, 'index'] },
  { name: 'invalid votedFor (empty string)', value: { ev: 'persist', node: 'n1', term: 1, votedFor: '', lastIndex: 0 }, path: ['votedFor'] },
  { name: 'invalid state.votedFor', value: { ev: 'crash', node: 'n1', state: { ...state, votedFor: '' } }, path: ['state', 'votedFor'] },
  { name: 'invalid role', value: { ev: 'role', node: 'n1', role: 'king', term: 1 }, path: ['role'] },
  { name: 'invalid state.role', value: { ev: 'crash', node: 'n1', state: { ...state, role: 'Leader' } }, path: ['state', 'role'] },
  { name: 'invalid timeout kind', value: { ev: 'timeout', node: 'n1', kind: 'vote' }, path: ['kind'] },
  { name: 'invalid entry kind', value: { ev: 'append', node: 'n1', entries: [{ index: 1, term: 1, kind: 'blob' }] }, path: ['entries', 0, 'kind'] },
  { name: 'cas op missing value', value: { ev: 'invoke', client: 'c1', opId: 1, op: { kind: 'cas', key: 'k', expected: null } }, path: ['op', 'value'] },
  { name: 'cas op missing expected', value: { ev: 'invoke', client: 'c1', opId: 1, op: { kind: 'cas', key: 'k', value: 'v' } }, path: ['op', 'expected'] },
  { name: 'put op missing value', value: { ev: 'invoke', client: 'c1', opId: 1, op: { kind: 'put', key: 'k' } }, path: ['op', 'value'] },
  { name: 'unknown op kind', value: { ev: 'invoke', client: 'c1', opId: 1, op: { kind: 'incr', key: 'k' } }, path: ['op', 'kind'], message: 'unknown operation kind "incr"' },
  { name: 'truncate from 0', value: { ev: 'truncate', node: 'n1', from: 0 }, path: ['from'] },
  { name: 'apply index 0', value: { ev: 'apply', node: 'n1', index: 0, term: 1 }, path: ['index'] },
  { name: 'init entry index 0', value: { ev: 'init', node: 'n1', term: 1, votedFor: null, lastIndex: 1, lastTerm: 1, snapshotIndex: 0, snapshotTerm: 0, entries: [{ index: 0, term: 1 }] }, path: ['entries', 0, 'index'] },
  { name: 'empty client id', value: { ev: 'ok', client: '', opId: 1 }, path: ['client'] },
  { name: 'negative client id', value: { ev: 'ok', client: -1, opId: 1 }, path: ['client'] },
  { name: 'empty operation id', value: { ev: 'info', client: 'c1', opId: '' }, path: ['opId'] },
  { name: 'header version 2', value: { ev: 'header', format: 'raft-trace', version: 2, cluster: ['n1'] }, path: ['version'] },
  { name: 'header of another format', value: { ev: 'header', format: 'jepsen', version: 1, cluster: ['n1'] }, path: ['format'] },
  { name: 'ts not a number', value: { ev: 'crash', node: 'n1', ts: '2024-01-01' }, path: ['ts'] },
  { name: 'a line that is an array', value: [{ ev: 'crash', node: 'n1' }], path: [] },
  { name: 'a line that is null', value: null, path: [] },
  { name: 'a line that is a string', value: 'crash', path: [] },
];

describe('malformed events are rejected with a path-precise error (Zod and JSON Schema)', () => {
  it.each(MALFORMED)('$name', ({ name, value, path, message }) => {
    expectRejectedAt(value, path, message === undefined ? { label: name } : { label: name, message });
  });

  it('the discriminator messages are the ones from errors.ts', () => {
    const unknown = TraceEvent.safeParse({ ev: 'foo' });
    expect(unknown.error?.issues[0]?.message).toBe(`unknown event type "foo"; expected one of: ${TRACE_EVENT_KINDS.join(', ')}`);
    const missing = TraceEvent.safeParse({});
    expect(missing.error?.issues[0]?.message).toBe(`missing event type (field "ev"); expected one of: ${TRACE_EVENT_KINDS.join(', ')}`);
    const msg = Message.safeParse({ type: 'Ping' });
    expect(msg.error?.issues[0]?.message).toBe(`unknown message type "Ping"; expected one of: ${MESSAGE_TYPES.join(', ')}`);
    // Other union failures keep Zod's own wording (the custom error map only answers discriminator issues).
    const other = TraceEvent.safeParse({ ev: 'ok', client: true, opId: 1 });
    expect(other.error?.issues[0]?.path).toStrictEqual(['client']);
    expect(other.error?.issues[0]?.message).not.toMatch(/event type|message type|operation kind/);
  });

  it('the message schema alone reports paths relative to the message', () => {
    expectRejectedAt({ ...ae, entries: [{ term: 1 }, { term: 2 }, { term: -1 }] }, ['entries', 2, 'term'], { v: MESSAGE });
    expectRejectedAt({ ...rv, candidateId: '' }, ['candidateId'], { v: MESSAGE });
    expectRejectedAt({ term: 1 }, ['type'], { v: MESSAGE, message: 'missing message type' });
  });

  const intMutations: fc.Arbitrary<Mutation> = fc.constantFrom<Mutation>(
    { name: 'just below minimum', apply: (_, site) => (site.min ?? 0) - 1 },
    { name: 'negative', apply: (v) => -1 - (Number(v) % 5) },
    { name: 'fractional', apply: (v) => (Number(v) % 1000) + 0.5 },
    { name: 'numeric string', apply: (v) => String(v) },
    { name: 'unsafe integer', apply: () => 2 ** 53 },
    { name: 'null', apply: () => null },
    { name: 'boolean', apply: () => true },
  );

  it('property: corrupting any integer field (term, index, …, nested too) is reported at that field', () => {
    assertSingleFieldCorruptions(arbTraceEvent, intSites, intMutations, 200);
  });

  it('property: corrupting any integer field of a bare message is reported at that field', () => {
    fc.assert(
      fc.property(arbMessage, intMutations, (msg, mutation) => {
        const sites = intSitesIn(msg, MESSAGE_INT_FIELDS[msg.type], []);
        expect(sites.length).toBeGreaterThan(0); // every message has a term
        for (const site of sites) {
          const bad = withValueAt(msg, site.path, mutation.apply(getAt(msg, site.path), site));
          expectRejectedAt(bad, site.path, { v: MESSAGE, label: `${mutation.name} at ${pointer(site.path)}` });
        }
      }),
      { numRuns: 100 },
    );
  });

  it('property: an empty (or non-string) node id anywhere is reported at that field', () => {
    const mutations = fc.constantFrom<Mutation>(
      { name: 'empty string', apply: () => '' },
      { name: 'number', apply: () => 1 },
      { name: 'list', apply: (v) => [v] },
    );
    assertSingleFieldCorruptions(arbTraceEvent, nodeIdSites, mutations, 150);
  });

  it('property: a value outside an enum (role, timeout kind, entry kind) is reported at that field', () => {
    const mutations = fc.oneof(
      fc.constant<Mutation>({ name: 'upper case', apply: (v) => String(v).toUpperCase() }),
      fc.string({ maxLength: 10 }).map(
        (s): Mutation => ({ name: `string ${JSON.stringify(s)}`, apply: (_, site) => (site.allowed?.includes(s) ? `${s}!` : s) }),
      ),
      fc.constant<Mutation>({ name: 'null', apply: () => null }),
    );
    assertSingleFieldCorruptions(arbTraceEvent, enumSites, mutations, 150);
  });

  it('property: a non-boolean flag in a message is reported at that field', () => {
    const mutations = fc.constantFrom<Mutation>(
      { name: 'string', apply: (v) => String(v) },
      { name: 'number', apply: (v) => (v === true ? 1 : 0) },
      { name: 'null', apply: () => null },
    );
    assertSingleFieldCorruptions(fc.oneof(arbSendEvent, arbRecvEvent, arbDropEvent), booleanSites, mutations, 150);
  });

  it('property: an unknown discriminator (ev, msg.type, op.kind) is reported at it with the errors.ts message', () => {
    const discriminators = (e: TraceEvent): { path: Path; what: string; known: readonly string[] }[] => {
      const sites = [{ path: ['ev'], what: 'event type', known: TRACE_EVENT_KINDS as readonly string[] }];
      if (messageOf(e)) sites.push({ path: ['msg', 'type'], what: 'message type', known: MESSAGE_TYPES });
      if (e.ev === 'invoke') sites.push({ path: ['op', 'kind'], what: 'operation kind', known: OP_KINDS });
      return sites;
    };
    const badValue = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.boolean(), fc.constant(null));
    fc.assert(
      fc.property(fc.oneof(arbTraceEvent, arbSendEvent, arbInvokeEvent), fc.nat(), badValue, (event, pick, value) => {
        const all = discriminators(event);
        const site = all[pick % all.length]!;
        fc.pre(!site.known.includes(value as string));
        const bad = withValueAt(event, site.path, value);
        expectRejectedAt(bad, site.path, {
          label: `${site.what} ${JSON.stringify(value)}`,
          message: `unknown ${site.what} ${JSON.stringify(value)}; expected one of: ${site.known.join(', ')}`,
        });
        const missing = withoutKeyAt(event, site.path);
        expectRejectedAt(missing, site.path, { label: `no ${site.what}`, message: `missing ${site.what} (field "${String(site.path.at(-1))}")` });
      }),
      { numRuns: 150 },
    );
  });

  it('property: deleting a field fails exactly when the format page lists it as required, at that path', () => {
    fc.assert(
      fc.property(arbTraceEvent, (event) => {
        for (const site of objectSites(event)) {
          for (const key of Object.keys(site.obj)) {
            const path = [...site.path, key];
            const without = withoutKeyAt(event, path);
            if (site.required.includes(key)) {
              expectRejectedAt(without, path, { label: `without ${pointer(path)} in ${event.ev}` });
            } else {
              const r = TraceEvent.safeParse(without);
              expect(r.success, `${event.ev} without optional ${pointer(path)}: ${JSON.stringify(r.error?.issues)}`).toBe(true);
              expect(validateEventJson(without), `JSON Schema, ${event.ev} without ${pointer(path)}`).toBe(true);
            }
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// 3. The example of trace-format.md
// ---------------------------------------------------------------------------------------------

const EXAMPLE = `
{"ev":"header","format":"raft-trace","version":1,"cluster":["n1","n2","n3"]}
{"ev":"init","node":"n1","term":0,"votedFor":null,"lastIndex":0,"lastTerm":0,"snapshotIndex":0,"snapshotTerm":0}
{"ev":"timeout","node":"n1","kind":"election"}
{"ev":"role","node":"n1","role":"candidate","term":1}
{"ev":"persist","node":"n1","term":1,"votedFor":"n1","lastIndex":0}
{"ev":"send","node":"n1","to":"n2","msg":{"type":"RequestVote","term":1,"candidateId":"n1","lastLogIndex":0,"lastLogTerm":0}}
{"ev":"recv","node":"n2","from":"n1","msg":{"type":"RequestVote","term":1,"candidateId":"n1","lastLogIndex":0,"lastLogTerm":0}}
{"ev":"persist","node":"n2","term":1,"votedFor":"n1","lastIndex":0}
{"ev":"send","node":"n2","to":"n1","msg":{"type":"RequestVoteResponse","term":1,"voteGranted":true}}
{"ev":"recv","node":"n1","from":"n2","msg":{"type":"RequestVoteResponse","term":1,"voteGranted":true}}
{"ev":"role","node":"n1","role":"leader","term":1}
{"ev":"append","node":"n1","entries":[{"index":1,"term":1,"kind":"noop"}]}
`;
const exampleLines = EXAMPLE.split('\n').filter((line) => line.trim() !== '');

describe('the example of trace-format.md (3 nodes, first election)', () => {
  it('has the 12 lines of the format page', () => {
    expect(exampleLines.map((line) => (JSON.parse(line) as { ev: string }).ev)).toStrictEqual([
      'header', 'init', 'timeout', 'role', 'persist', 'send', 'recv', 'persist', 'send', 'recv', 'role', 'append',
    ]);
  });

  it.each(exampleLines.map((line, i) => [i + 1, line] as const))('line %i parses unchanged', (_, line) => {
    const json: unknown = JSON.parse(line);
    expect(TraceEvent.parse(json)).toStrictEqual(json);
    expect(JSON.stringify(TraceEvent.parse(json))).toBe(line);
  });
});

// ---------------------------------------------------------------------------------------------
// 4. The exported JSON Schema
// ---------------------------------------------------------------------------------------------

describe('JSON Schema export (z.toJSONSchema, draft 2020-12, checked with ajv)', () => {
  it('is draft 2020-12 and has one branch per event kind / message type', () => {
    expect(traceEventJsonSchema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(messageJsonSchema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    const branches = (s: object): unknown[] => {
      const b = (s as { oneOf?: unknown[]; anyOf?: unknown[] }).oneOf ?? (s as { anyOf?: unknown[] }).anyOf;
      return b ?? [];
    };
    expect(branches(traceEventJsonSchema)).toHaveLength(TRACE_EVENT_KINDS.length);
    expect(branches(messageJsonSchema)).toHaveLength(MESSAGE_TYPES.length);
  });

  it('accepts every line of the example', () => {
    for (const line of exampleLines) {
      const json: unknown = JSON.parse(line);
      expect(validateEventJson(json), `${line}\n${ajvErrorsText(validateEventJson.errors)}`).toBe(true);
    }
  });

  it('property: accepts every generated event (after a JSON round trip), unknown fields included', () => {
    fc.assert(
      fc.property(arbTraceEvent, (event) => {
        const json = jsonRoundTrip(event);
        expect(validateEventJson(json), `${JSON.stringify(json)}\n${ajvErrorsText(validateEventJson.errors)}`).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('property: accepts every generated message', () => {
    fc.assert(
      fc.property(arbMessage, (msg) => {
        expectAccepted(jsonRoundTrip(msg), MESSAGE);
      }),
      { numRuns: 100 },
    );
  });

  it('keeps the integer bounds of Zod: 2^53 - 1 accepted, 2^53 and 1.5 rejected, by both', () => {
    expectAccepted({ ev: 'role', node: 'n1', role: 'leader', term: Number.MAX_SAFE_INTEGER });
    expectRejectedAt({ ev: 'role', node: 'n1', role: 'leader', term: Number.MAX_SAFE_INTEGER + 1 }, ['term']);
    expectRejectedAt({ ev: 'role', node: 'n1', role: 'leader', term: 1.5 }, ['term']);
    // `ts` is any number, not an integer.
    expectAccepted({ ev: 'crash', node: 'n1', ts: 1.5 });
    expectAccepted({ ev: 'crash', node: 'n1', ts: -20 });
  });

  it('property: Zod and the JSON Schema agree on random corruptions (any field set to any JSON value, or deleted)', () => {
    /** Every path in `x` (objects and arrays), the root excluded. */
    const pathsIn = (x: unknown, base: Path = []): Path[] =>
      typeof x === 'object' && x !== null
        ? Object.entries(x).flatMap(([k, v]) => {
            const p = [...base, Array.isArray(x) ? Number(k) : k];
            return [p, ...pathsIn(v, p)];
          })
        : [];
    fc.assert(
      fc.property(arbTraceEvent, fc.nat(), fc.option(arbJsonValue, { nil: undefined }), (event, pick, value) => {
        const paths = pathsIn(event);
        const path = paths[pick % paths.length]!; // every event has at least `ev`
        // Deleting an array item is not a single-field edit: replace it with null instead.
        const inArray = Array.isArray(getAt(event, path.slice(0, -1)));
        const bad =
          value === undefined && !inArray ? withoutKeyAt(event, path) : withValueAt(event, path, value ?? null);
        const zodOk = TraceEvent.safeParse(bad).success;
        expect(validateEventJson(bad), `${JSON.stringify(bad)}: Zod says ${zodOk}`).toBe(zodOk);
      }),
      { numRuns: 300 },
    );
  });
});
