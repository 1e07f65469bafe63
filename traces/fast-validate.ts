/**
 * The fast path of trace validation. `figure2 check` reads millions of events; Zod's general
 * machinery cost twice the JSON parse and five times the checking itself. This accepts exactly
 * what the Zod schemas of spec/ accept, for the event kinds that make up nearly every trace, and
 * answers `undefined` for anything else — rare kinds, and every invalid line — which then goes
 * through Zod for its verdict and its path-precise error. The schemas stay the normative source;
 * a property test (test/traces/fast-validate.test.ts) holds this file to their verdict.
 */
import type { TraceEvent } from '../spec/schemas/trace-events.ts';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Term, Index: a safe integer ≥ 0 (z.int().min(0)). */
const nat = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
/** EntryIndex: a safe integer ≥ 1. */
const pos = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
const nodeId = (v: unknown): boolean => typeof v === 'string' && v.length > 0;
const optional = (v: unknown, ok: (x: unknown) => boolean): boolean => v === undefined || ok(v);
const str = (v: unknown): boolean => typeof v === 'string';
const bool = (v: unknown): boolean => typeof v === 'boolean';
const role = (v: unknown): boolean => v === 'follower' || v === 'candidate' || v === 'leader' || v === 'precandidate';
const entryKind = (v: unknown): boolean => v === 'command' || v === 'noop' || v === 'config';
const correlation = (v: unknown): boolean => typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v));
const votedFor = (v: unknown): boolean => v === null || nodeId(v);

function nodeState(v: unknown): boolean {
  if (!isObj(v)) return false;
  return (
    nat(v['term']) && votedFor(v['votedFor']) && role(v['role']) && nat(v['commitIndex']) && nat(v['lastIndex']) && nat(v['lastTerm']) &&
    optional(v['snapshotIndex'], nat) && optional(v['snapshotTerm'], nat)
  );
}

/** Common fields of a node event: node, optional ts, optional state. */
function onNode(v: Obj): boolean {
  return nodeId(v['node']) && optional(v['ts'], finite) && optional(v['state'], nodeState);
}
const finite = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);

function messageEntry(v: unknown): boolean {
  return isObj(v) && nat(v['term']) && optional(v['index'], pos) && optional(v['kind'], entryKind) && optional(v['digest'], str);
}

function logEntry(v: unknown): boolean {
  return isObj(v) && pos(v['index']) && nat(v['term']) && optional(v['kind'], entryKind) && optional(v['digest'], str);
}

function every(v: unknown, ok: (x: unknown) => boolean): boolean {
  if (!Array.isArray(v)) return false;
  for (const x of v) if (!ok(x)) return false;
  return true;
}

function message(v: unknown): boolean {
  if (!isObj(v)) return false;
  switch (v['type']) {
    case 'AppendEntries':
      return (
        optional(v['id'], correlation) && nat(v['term']) && nodeId(v['leaderId']) && nat(v['prevLogIndex']) && nat(v['prevLogTerm']) &&
        every(v['entries'], messageEntry) && nat(v['leaderCommit'])
      );
    case 'AppendEntriesResponse':
      return (
        optional(v['inReplyTo'], correlation) && nat(v['term']) && bool(v['success']) && optional(v['matchIndex'], nat) &&
        optional(v['conflictIndex'], nat) && optional(v['conflictTerm'], nat)
      );
    case 'RequestVote':
      return (
        optional(v['id'], correlation) && nat(v['term']) && nodeId(v['candidateId']) && nat(v['lastLogIndex']) && nat(v['lastLogTerm']) &&
        optional(v['preVote'], bool)
      );
    case 'RequestVoteResponse':
      return optional(v['inReplyTo'], correlation) && nat(v['term']) && bool(v['voteGranted']) && optional(v['preVote'], bool);
    case 'InstallSnapshot':
      return (
        optional(v['id'], correlation) && nat(v['term']) && nodeId(v['leaderId']) && nat(v['lastIncludedIndex']) && nat(v['lastIncludedTerm']) &&
        optional(v['offset'], nat) && optional(v['done'], bool) && optional(v['size'], nat)
      );
    case 'InstallSnapshotResponse':
      return optional(v['inReplyTo'], correlation) && nat(v['term']) && optional(v['lastIncludedIndex'], nat);
    case 'TimeoutNow':
      return optional(v['id'], correlation) && nat(v['term']) && nodeId(v['leaderId']);
    default:
      return false;
  }
}

const clientId = (v: unknown): boolean => (typeof v === 'string' && v.length > 0) || nat(v);
const opId = (v: unknown): boolean => (typeof v === 'string' && v.length > 0) || (typeof v === 'number' && Number.isSafeInteger(v));

function clientOp(v: unknown): boolean {
  if (!isObj(v) || !str(v['key'])) return false;
  switch (v['kind']) {
    case 'get':
    case 'delete':
      return true;
    case 'put':
      return str(v['value']);
    case 'cas':
      return (v['expected'] === null || str(v['expected'])) && str(v['value']);
    default:
      return false;
  }
}

function clientCommon(v: Obj): boolean {
  return optional(v['ts'], finite) && clientId(v['client']) && opId(v['opId']);
}

/** The event, when the fast path can vouch for it; `undefined` sends it to Zod. */
export function fastTraceEvent(v: unknown): TraceEvent | undefined {
  if (!isObj(v)) return undefined;
  let ok: boolean;
  switch (v['ev']) {
    case 'send':
      ok = onNode(v) && nodeId(v['to']) && message(v['msg']);
      break;
    case 'recv':
      ok = onNode(v) && nodeId(v['from']) && message(v['msg']);
      break;
    case 'apply':
      ok = onNode(v) && pos(v['index']) && nat(v['term']) && optional(v['digest'], str);
      break;
    case 'append':
      ok = onNode(v) && every(v['entries'], logEntry);
      break;
    case 'persist':
      ok = onNode(v) && nat(v['term']) && votedFor(v['votedFor']) && nat(v['lastIndex']);
      break;
    case 'commit':
      ok = onNode(v) && nat(v['commitIndex']);
      break;
    case 'role':
      ok = onNode(v) && role(v['role']) && nat(v['term']);
      break;
    case 'timeout':
      ok = onNode(v) && (v['kind'] === 'election' || v['kind'] === 'heartbeat');
      break;
    case 'truncate':
      ok = onNode(v) && pos(v['from']);
      break;
    case 'crash':
      ok = onNode(v);
      break;
    case 'drop':
      ok = optional(v['ts'], finite) && optional(v['node'], nodeId) && optional(v['state'], nodeState) && nodeId(v['from']) && nodeId(v['to']) && optional(v['msg'], message);
      break;
    case 'invoke':
      ok = clientCommon(v) && clientOp(v['op']) && optional(v['node'], nodeId);
      break;
    case 'ok':
      ok = clientCommon(v) && (v['value'] === undefined || v['value'] === null || str(v['value']));
      break;
    case 'fail':
      ok = clientCommon(v) && str(v['error']);
      break;
    case 'info':
      ok = clientCommon(v) && optional(v['error'], str);
      break;
    default:
      ok = false; // header, init, snapshot, restore, config: rare; Zod handles them
  }
  return ok ? (v as unknown as TraceEvent) : undefined;
}
