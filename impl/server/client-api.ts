/**
 * The HTTP client API of a node (issue 7): a Fastify instance over a {@link ClientNode} — a
 * `NodeHost`, or a fake in tests. `createClientApi` does not listen; the caller calls `.listen`.
 *
 * ## Endpoints
 *
 * | request | success | notes |
 * |---|---|---|
 * | `PUT /kv/:key` body `{"value": string}` | 200 `{"ok": true}` | |
 * | `GET /kv/:key` | 200 `{"key", "value"}`, 404 when absent | linearizable (ReadIndex, §8, CL-LIN); `?stale=true` reads this node's state machine, from any node, without that guarantee |
 * | `DELETE /kv/:key` | 200 `{"ok": true}` | also when the key was absent: the key is absent afterwards either way |
 * | `POST /kv/:key/cas` body `{"expected": string \| null, "value": string}` | 200 `{"ok": true}` | 409 `{"error": "cas-mismatch", "current"}` when the value is not `expected` (`null`: absent) |
 * | `GET /status` | 200 — id, role, currentTerm, leader, commitIndex, lastApplied, lastIndex, snapshot index/term | |
 * | `GET /metrics` | 200, Prometheus text format | see metrics.ts |
 *
 * Every error is JSON: `{"error": code, "message": sentence, ...}`; `error` is one of
 * {@link REQUEST_OUTCOMES}, and input errors add `field` (the offending field, header or
 * parameter; `""` for the body as a whole).
 *
 * ## Sessions and retries (CL-ONCE)
 *
 * A write may carry `X-Client-Id` (1–128 characters) and `X-Client-Seq` (a non-negative integer),
 * both or neither. A retry with the same pair is not executed again: it gets the first
 * execution's answer, marked with the header `X-Replayed: true`. A seq below the client's latest
 * one gets 409 `stale-seq` — the client has moved on, and that request's answer is gone.
 * Without the headers, the server gives the request a fresh session of its own (a random id), so
 * the write cannot be deduplicated: a client that wants to retry safely after a 504 must send the
 * headers. Such one-shot sessions also take room in the replicated session table (kv/store.ts,
 * bounded, oldest evicted), so heavy anonymous traffic shortens how long real sessions are kept.
 * Reads do not use sessions: they do not go through the log.
 *
 * ## Not the leader: redirect, not forwarding
 *
 * A follower answers writes and linearizable reads with **307 Temporary Redirect**, `Location`
 * set to the same path on the leader's client address, and a body `{"error": "not-leader",
 * "leader": "n2", "leaderUrl": "http://…"}`. Redirecting rather than forwarding keeps a follower
 * stateless (no proxied requests to time out, no forwarding loops while leadership moves) and
 * makes the client talk to the leader directly from then on. 307 (not 421) because HTTP clients
 * follow it by themselves, re-sending the method and body; that is always safe here, because a
 * refused proposal was never appended to the log, with or without a session.
 * When no leader is known (an election), or the leader's address is not configured, the answer is
 * **503** with `Retry-After`.
 *
 * ## Unknown outcomes
 *
 * When a write was proposed but its fate cannot be learned here — leadership was lost before it
 * applied, the node stopped, or it took longer than `requestTimeoutMs` — the answer is **504**
 * `outcome-unknown`: it may or may not take effect. Retrying with the same `X-Client-Seq` is safe
 * and returns its real outcome. A linearizable read that fails that way is simply **503**
 * `unavailable`: reads have no effect, so the client just retries.
 *
 * ## Bad input
 *
 * Bodies are parsed as JSON whatever their Content-Type (so `curl -d` works) and validated with
 * Zod at this gateway: 400 `invalid-json` (not JSON), 400 `invalid-request` (a missing, extra or
 * mistyped field, a bad header or query parameter, an empty key, a malformed URL), 413
 * `too-large` (the body over `limits.bodyBytes`, a value over `limits.valueBytes`), 414
 * `too-large` (the key over `limits.keyBytes`); keys and values are counted in UTF-8 bytes. The
 * server keeps serving.
 */
import { randomUUID } from 'node:crypto';
import { fastify, LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { NodeStatus } from '../core/raft-node.ts';
import { issuesFromZod, parseJson, type KvIssue } from '../kv/errors.ts';
import type { KvOutcome, KvResult } from '../kv/store.ts';
import type { ClientOperation } from '../../spec/schemas/client.ts';
import { ServerMetrics, type RequestOutcome } from './metrics.ts';
import { NotLeaderError, OutcomeUnknownError } from './node-host.ts';

export { REQUEST_OUTCOMES, type RequestOutcome } from './metrics.ts';

/** A client's command with its session, as `NodeHost.propose` takes it. */
export interface ClientCommand {
  readonly clientId: string;
  readonly seq: number;
  readonly op: ClientOperation;
}

/**
 * What the API needs from a node; `NodeHost` has exactly these methods. `propose` and `read`
 * reject with `NotLeaderError` (refused: nothing was done) or `OutcomeUnknownError`; any other
 * rejection is a bug and answers 500.
 */
export interface ClientNode {
  propose(command: ClientCommand): Promise<KvOutcome>;
  /** Linearizable read (ReadIndex). */
  read(key: string): Promise<string | null>;
  /** This node's state machine, no consistency guarantee. */
  localGet(key: string): string | null;
  status(): NodeStatus;
}

/** Size limits, in bytes. Keys and values are counted in UTF-8. */
export interface ClientApiLimits {
  /** A request body (Fastify's `bodyLimit`). */
  readonly bodyBytes: number;
  readonly keyBytes: number;
  /** `value`, and the `expected` of a cas. */
  readonly valueBytes: number;
}

export const DEFAULT_CLIENT_API_LIMITS: ClientApiLimits = Object.freeze({
  bodyBytes: 1024 * 1024,
  keyBytes: 1024,
  valueBytes: 64 * 1024,
});

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_RETRY_AFTER_SECONDS = 1;

export const CLIENT_ID_HEADER = 'x-client-id';
export const CLIENT_SEQ_HEADER = 'x-client-seq';
/** Set to `true` on the answer to a retry that was not executed again (CL-ONCE). */
export const REPLAYED_HEADER = 'x-replayed';
/** Longest `X-Client-Id`: ids live in every snapshot's session table. */
export const CLIENT_ID_LENGTH_MAX = 128;

export interface ClientApiOptions {
  readonly node: ClientNode;
  /**
   * Each node's client API base URL (`http://127.0.0.1:8002`), by node id, for redirects: a map,
   * or a function (`undefined`: not known).
   */
  readonly clientAddresses?: Readonly<Record<string, string>> | ((nodeId: string) => string | undefined) | undefined;
  /** A pino logger (or any Fastify-compatible one); `false` or absent: no logging. */
  readonly loggerInstance?: FastifyBaseLogger | false | undefined;
  /** Shared with the node process, which feeds it too; by default the API makes its own. */
  readonly metrics?: ServerMetrics | undefined;
  /** Each limit defaults to {@link DEFAULT_CLIENT_API_LIMITS}'s. */
  readonly limits?: { readonly [K in keyof ClientApiLimits]?: ClientApiLimits[K] | undefined } | undefined;
  /** How long a write or linearizable read may wait for the node before 504/503. */
  readonly requestTimeoutMs?: number | undefined;
  /** The `Retry-After` of 503 and 504 answers. */
  readonly retryAfterSeconds?: number | undefined;
  /** The client id of a request without session headers (tests make it predictable). */
  readonly anonymousClientId?: (() => string) | undefined;
}

/** What a handler decided; `Answers.send` writes it. Keeping it data lets the leaves below stay pure. */
interface Answer {
  readonly statusCode: number;
  readonly outcome: RequestOutcome;
  readonly body: Readonly<Record<string, unknown>>;
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

/** A write's session: the client's, or a one-shot one made up for a request without the headers. */
interface Session {
  readonly clientId: string;
  readonly seq: number;
  readonly anonymous: boolean;
}

/** Everything the handlers share, resolved from the options once. */
interface Context {
  readonly node: ClientNode;
  readonly addressOf: (nodeId: string) => string | undefined;
  readonly metrics: ServerMetrics;
  readonly limits: ClientApiLimits;
  readonly requestTimeoutMs: number;
  readonly retryAfterSeconds: number;
  readonly anonymousClientId: () => string;
}

/** Bad input found at the gateway; the error handler turns it into a 400, 413 or 414 answer. */
class GatewayError extends Error {
  override readonly name = 'GatewayError';
  constructor(
    readonly code: 'invalid-json' | 'invalid-request' | 'too-large',
    readonly field: string,
    message: string,
  ) {
    super(message);
  }

  /** A key too large is a URI too long (414); a body or value too large, content too large (413). */
  get statusCode(): number {
    if (this.code !== 'too-large') return 400;
    return this.field === 'key' ? 414 : 413;
  }
}

/** The node did not answer within `requestTimeoutMs`. */
class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError';
}

/**
 * The client API as a Fastify instance, routes registered, not listening.
 *
 * @throws RangeError if a limit, the timeout or Retry-After is not a positive integer.
 */
export function createClientApi(options: ClientApiOptions): FastifyInstance {
  const ctx = contextOf(options);
  const answers = new Answers();
  const app = fastify({
    ...(options.loggerInstance === undefined || options.loggerInstance === false ? { logger: false } : { loggerInstance: options.loggerInstance }),
    bodyLimit: ctx.limits.bodyBytes,
    // close() ends every connection, idle keep-alive ones included, once in-flight requests are answered
    // (the node process closes the host first, which answers waiting requests): shutdown is bounded.
    forceCloseConnections: true,
    // Fastify's own request lines are at info; ours (onResponse below) are at debug, with the outcome.
    logController: new LogController({ disableRequestLogging: true }),
    // A malformed URL (`/kv/%zz`) is refused before routing; answer it like any other bad input.
    // Such requests skip the hooks, so the answer is also counted and logged here.
    frameworkErrors: (error, request, reply) => {
      answers.send(request, reply, answerForError(ctx, error));
      observeAnswered(ctx, answers, request, reply);
    },
    routerOptions: {
      // The router's default (100 characters) would refuse valid keys: a percent-encoded UTF-8
      // byte takes up to 3. Longer keys get the router's 414, which answerForError words.
      maxParamLength: 3 * ctx.limits.keyBytes,
    },
  });
  // One parser for every Content-Type: the body stays a string, parsed and validated at the gateway below.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  registerRoutes(app, ctx, answers);
  registerFallbacks(app, ctx, answers);
  return app;
}

/**
 * Writes answers and remembers each request's outcome until it is counted and logged (onResponse),
 * without decorating Fastify's request type.
 */
class Answers {
  private readonly outcomes = new WeakMap<FastifyRequest, RequestOutcome>();

  send(request: FastifyRequest, reply: FastifyReply, answer: Answer): FastifyReply {
    this.outcomes.set(request, answer.outcome);
    // The server is fine, but the client was not served: worth a look when it persists.
    if (answer.statusCode === 503 || answer.statusCode === 504) request.log.warn({ outcome: answer.outcome, detail: answer.body['message'] }, 'request not served');
    if (answer.headers !== undefined) void reply.headers(answer.headers);
    return reply.code(answer.statusCode).send(answer.body);
  }

  record(request: FastifyRequest, outcome: RequestOutcome): void {
    this.outcomes.set(request, outcome);
  }

  outcomeOf(request: FastifyRequest, reply: FastifyReply): RequestOutcome {
    return this.outcomes.get(request) ?? (reply.statusCode < 400 ? 'ok' : 'internal');
  }
}

function registerRoutes(app: FastifyInstance, ctx: Context, answers: Answers): void {
  app.put('/kv/:key', async (request, reply) => answers.send(request, reply, await putKey(ctx, request)));
  app.get('/kv/:key', async (request, reply) => answers.send(request, reply, await getKey(ctx, request)));
  app.delete('/kv/:key', async (request, reply) => answers.send(request, reply, await deleteKey(ctx, request)));
  app.post('/kv/:key/cas', async (request, reply) => answers.send(request, reply, await casKey(ctx, request)));
  app.get('/status', async (request, reply) => answers.send(request, reply, statusAnswer(ctx)));
  app.get('/metrics', async (request, reply) => {
    // Sampling at scrape time keeps the raft gauges current without the host doing anything.
    ctx.metrics.observeStatus(ctx.node.status());
    const text = await ctx.metrics.render();
    answers.record(request, 'ok');
    return reply.type(ctx.metrics.contentType).send(text);
  });
}

/** Unknown routes, errors (ours and Fastify's), and the per-request metrics and log line. */
function registerFallbacks(app: FastifyInstance, ctx: Context, answers: Answers): void {
  app.setNotFoundHandler(async (request, reply) =>
    answers.send(request, reply, { statusCode: 404, outcome: 'not-found', body: { error: 'not-found', message: `no route ${request.method} ${routePath(request.url)}` } }),
  );
  app.setErrorHandler(async (error: unknown, request, reply) => {
    const answer = answerForError(ctx, error);
    if (answer.statusCode >= 500) request.log.error({ err: error }, 'request failed');
    return answers.send(request, reply, answer);
  });
  app.addHook('onResponse', async (request, reply) => observeAnswered(ctx, answers, request, reply));
}

/** Counts an answered request and logs it at debug. */
function observeAnswered(ctx: Context, answers: Answers, request: FastifyRequest, reply: FastifyReply): void {
  const outcome = answers.outcomeOf(request, reply);
  // The route pattern, never the URL: one series per route, not one per key.
  const route = request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched');
  const { method, url } = request;
  const statusCode = reply.statusCode;
  ctx.metrics.observeRequest({ method, route, statusCode, outcome, durationSeconds: reply.elapsedTime / 1000 });
  request.log.debug({ method, url, statusCode, outcome, durationMs: reply.elapsedTime }, 'request answered');
}

// --- options ---------------------------------------------------------------------------------

function contextOf(options: ClientApiOptions): Context {
  const limits = { ...DEFAULT_CLIENT_API_LIMITS, ...definedOnly(options.limits ?? {}) };
  for (const [name, value] of Object.entries(limits)) positiveInteger(`limits.${name}`, value);
  return {
    node: options.node,
    addressOf: addressLookup(options.clientAddresses),
    metrics: options.metrics ?? new ServerMetrics(),
    limits,
    requestTimeoutMs: positiveInteger('requestTimeoutMs', options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS),
    retryAfterSeconds: positiveInteger('retryAfterSeconds', options.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS),
    anonymousClientId: options.anonymousClientId ?? (() => `anon-${randomUUID()}`),
  };
}

/** `{ keyBytes: undefined }` must not override the default. */
function definedOnly(partial: NonNullable<ClientApiOptions['limits']>): Partial<ClientApiLimits> {
  return Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}

function addressLookup(addresses: ClientApiOptions['clientAddresses']): (nodeId: string) => string | undefined {
  if (addresses === undefined) return () => undefined;
  if (typeof addresses === 'function') return addresses;
  // Own properties only: a node named `constructor` must not find Object's.
  return (nodeId) => (Object.hasOwn(addresses, nodeId) ? addresses[nodeId] : undefined);
}

// --- handlers: parse, act, map the result ----------------------------------------------------

async function putKey(ctx: Context, request: FastifyRequest): Promise<Answer> {
  const key = parseKey(ctx, request.params);
  const session = parseSession(ctx, request.headers);
  const body = parseBody(ctx, request.body, PutBody);
  return write(ctx, request, session, { kind: 'put', key, value: body.value });
}

async function deleteKey(ctx: Context, request: FastifyRequest): Promise<Answer> {
  const key = parseKey(ctx, request.params);
  const session = parseSession(ctx, request.headers);
  return write(ctx, request, session, { kind: 'delete', key });
}

async function casKey(ctx: Context, request: FastifyRequest): Promise<Answer> {
  const key = parseKey(ctx, request.params);
  const session = parseSession(ctx, request.headers);
  const body = parseBody(ctx, request.body, CasBody);
  return write(ctx, request, session, { kind: 'cas', key, expected: body.expected, value: body.value });
}

async function getKey(ctx: Context, request: FastifyRequest): Promise<Answer> {
  const key = parseKey(ctx, request.params);
  const { stale } = parseQuery(request.query, ReadQuery);
  if (stale) return valueAnswer(key, ctx.node.localGet(key));
  try {
    return valueAnswer(key, await withTimeout(ctx.node.read(key), ctx.requestTimeoutMs));
  } catch (error) {
    if (error instanceof NotLeaderError) return notLeaderAnswer(ctx, request, error.leaderHint);
    if (error instanceof OutcomeUnknownError || error instanceof RequestTimeoutError) return unavailableAnswer(ctx, `the read could not be served: ${error.message}; retry`);
    throw error;
  }
}

async function write(ctx: Context, request: FastifyRequest, session: Session, op: ClientOperation): Promise<Answer> {
  const command: ClientCommand = { clientId: session.clientId, seq: session.seq, op };
  try {
    return outcomeAnswer(command, await withTimeout(ctx.node.propose(command), ctx.requestTimeoutMs));
  } catch (error) {
    if (error instanceof NotLeaderError) return notLeaderAnswer(ctx, request, error.leaderHint);
    if (error instanceof OutcomeUnknownError || error instanceof RequestTimeoutError) return outcomeUnknownAnswer(ctx, session, error.message);
    throw error;
  }
}

/** Waits for the node at most `ms`; the node's promise may still settle later, unobserved. */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new RequestTimeoutError(`no answer from the node within ${ms} ms`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// --- answers: pure leaves --------------------------------------------------------------------

const OK_BODY = Object.freeze({ ok: true });

/** The answer to an applied write; a replay answers as the first execution did (CL-ONCE). */
function outcomeAnswer(command: ClientCommand, outcome: KvOutcome): Answer {
  switch (outcome.kind) {
    case 'duplicate':
      return { ...resultAnswer(command, outcome.outcome), outcome: 'duplicate', headers: { [REPLAYED_HEADER]: 'true' } };
    case 'stale':
      return {
        statusCode: 409,
        outcome: 'stale-seq',
        body: {
          error: 'stale-seq',
          message: `client ${command.clientId} has already sent a command after seq ${command.seq}; this request was not executed and its answer is no longer kept`,
          clientId: command.clientId,
          seq: command.seq,
        },
      };
    default:
      return resultAnswer(command, outcome);
  }
}

function resultAnswer(command: ClientCommand, result: KvResult): Answer {
  if (result.kind === 'ok') return { statusCode: 200, outcome: 'ok', body: OK_BODY };
  const { key } = command.op;
  return {
    statusCode: 409,
    outcome: 'cas-mismatch',
    body: { error: 'cas-mismatch', message: `the value of ${JSON.stringify(key)} is not the expected one`, key, current: result.current },
  };
}

function valueAnswer(key: string, value: string | null): Answer {
  if (value === null) return { statusCode: 404, outcome: 'not-found', body: { error: 'not-found', message: `no value for key ${JSON.stringify(key)}`, key } };
  return { statusCode: 200, outcome: 'ok', body: { key, value } };
}

function notLeaderAnswer(ctx: Context, request: FastifyRequest, leaderHint: string | null): Answer {
  const self = ctx.node.status().id;
  // A hint naming this node would redirect to itself forever.
  const leader = leaderHint === self ? null : leaderHint;
  const retryAfter = { 'retry-after': String(ctx.retryAfterSeconds) };
  if (leader === null) {
    return { statusCode: 503, outcome: 'no-leader', headers: retryAfter, body: { error: 'no-leader', message: `${self} is not the leader and knows no leader (an election may be under way); retry shortly`, leader: null } };
  }
  const leaderUrl = ctx.addressOf(leader);
  if (leaderUrl === undefined) {
    return { statusCode: 503, outcome: 'not-leader', headers: retryAfter, body: { error: 'not-leader', message: `${self} is not the leader; ${leader} is, but its client address is not configured here`, leader, leaderUrl: null } };
  }
  return {
    statusCode: 307,
    outcome: 'not-leader',
    headers: { location: `${leaderUrl.replace(/\/+$/, '')}${request.url}` },
    body: { error: 'not-leader', message: `${self} is not the leader; ${leader} is, at ${leaderUrl}`, leader, leaderUrl },
  };
}

function outcomeUnknownAnswer(ctx: Context, session: Session, detail: string): Answer {
  const advice = session.anonymous
    ? `it was sent without ${CLIENT_ID_HEADER} and ${CLIENT_SEQ_HEADER}, so a retry may apply it twice`
    : `retry with the same ${CLIENT_ID_HEADER} and ${CLIENT_SEQ_HEADER} to learn its outcome`;
  return {
    statusCode: 504,
    outcome: 'outcome-unknown',
    headers: { 'retry-after': String(ctx.retryAfterSeconds) },
    body: {
      error: 'outcome-unknown',
      message: `the write may or may not take effect (${detail}); ${advice}`,
    },
  };
}

function unavailableAnswer(ctx: Context, message: string): Answer {
  return { statusCode: 503, outcome: 'unavailable', headers: { 'retry-after': String(ctx.retryAfterSeconds) }, body: { error: 'unavailable', message } };
}

function statusAnswer(ctx: Context): Answer {
  const s = ctx.node.status();
  const body = {
    id: s.id,
    role: s.role,
    currentTerm: s.currentTerm,
    votedFor: s.votedFor,
    leader: s.leader,
    leaderUrl: s.leader === null ? null : (ctx.addressOf(s.leader) ?? null),
    commitIndex: s.commitIndex,
    lastApplied: s.lastApplied,
    lastIndex: s.lastIndex,
    snapshotIndex: s.snapshotIndex,
    snapshotTerm: s.snapshotTerm,
  };
  return { statusCode: 200, outcome: 'ok', body };
}

/** Framework errors (body too large, bad Content-Length, bad URL) and ours, as answers. */
function answerForError(ctx: Context, error: unknown): Answer {
  if (error instanceof GatewayError) return gatewayAnswer(error);
  const { statusCode, code } = fastifyErrorOf(error);
  // Fastify's messages for these two echo the whole URL; ours say what is wrong.
  if (code === 'FST_ERR_MAX_PARAM_LENGTH') return gatewayAnswer(new GatewayError('too-large', 'key', `the key is longer than ${ctx.limits.keyBytes} bytes`));
  if (code === 'FST_ERR_BAD_URL') return gatewayAnswer(new GatewayError('invalid-request', '', 'the URL is malformed: a "%" must start a percent-encoded byte such as %2F'));
  if (statusCode === 413) return gatewayAnswer(new GatewayError('too-large', '', `the request body is larger than ${ctx.limits.bodyBytes} bytes`));
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
    const message = error instanceof Error ? error.message : 'bad request';
    return { statusCode, outcome: 'invalid-request', body: { error: 'invalid-request', message, field: '' } };
  }
  return { statusCode: 500, outcome: 'internal', body: { error: 'internal', message: 'internal error; see the server log' } };
}

function gatewayAnswer(error: GatewayError): Answer {
  return { statusCode: error.statusCode, outcome: error.code, body: { error: error.code, message: error.message, field: error.field } };
}

/** The `statusCode` and `code` Fastify puts on its errors, when present. */
function fastifyErrorOf(error: unknown): { statusCode: number | undefined; code: string | undefined } {
  if (typeof error !== 'object' || error === null) return { statusCode: undefined, code: undefined };
  const statusCode = 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : undefined;
  const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  return { statusCode, code };
}

/** The path without its query string: a 404 message should not echo query values. */
function routePath(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

// --- gateway: Zod schemas and parsers ----------------------------------------------------------

const KeyParams = z.strictObject({ key: z.string().min(1, 'must not be empty') });
const PutBody = z.strictObject({ value: z.string() });
/** `expected` is required (no default): `null` must be said, since it means "absent". */
const CasBody = z.strictObject({ expected: z.string().nullable(), value: z.string() });
const ReadQuery = z.strictObject({
  stale: z
    .enum(['true', 'false'], { error: 'must be "true" or "false"' })
    .optional()
    .transform((v) => v === 'true'),
});
const SessionHeaders = z
  .object({
    [CLIENT_ID_HEADER]: z.string().min(1).max(CLIENT_ID_LENGTH_MAX).optional(),
    [CLIENT_SEQ_HEADER]: z
      .string()
      .regex(/^[0-9]{1,16}$/, 'must be a non-negative decimal integer')
      .transform(Number)
      .pipe(z.number().max(Number.MAX_SAFE_INTEGER, `must be at most ${Number.MAX_SAFE_INTEGER}`))
      .optional(),
  })
  .superRefine((h, zctx) => {
    const id = h[CLIENT_ID_HEADER];
    const seq = h[CLIENT_SEQ_HEADER];
    if (id !== undefined && seq === undefined) zctx.addIssue({ code: 'custom', path: [CLIENT_SEQ_HEADER], message: `required with ${CLIENT_ID_HEADER}` });
    if (id === undefined && seq !== undefined) zctx.addIssue({ code: 'custom', path: [CLIENT_ID_HEADER], message: `required with ${CLIENT_SEQ_HEADER}` });
  });

function parseKey(ctx: Context, params: unknown): string {
  const { key } = validate(KeyParams, params, 'path parameter');
  checkBytes({ field: 'key', text: key, limitBytes: ctx.limits.keyBytes });
  return key;
}

/** The session headers, or a fresh one-shot session when there are none (see the file comment). */
function parseSession(ctx: Context, headers: unknown): Session {
  const h = validate(SessionHeaders, headers, 'headers');
  const clientId = h[CLIENT_ID_HEADER];
  const seq = h[CLIENT_SEQ_HEADER];
  if (clientId === undefined || seq === undefined) return { clientId: ctx.anonymousClientId(), seq: 0, anonymous: true };
  return { clientId, seq, anonymous: false };
}

function parseQuery<T>(query: unknown, schema: z.ZodType<T>): T {
  return validate(schema, query, 'query');
}

/** A body: JSON text (any Content-Type), then the schema, then the size of its strings. */
function parseBody<T extends { readonly value: string; readonly expected?: string | null }>(ctx: Context, raw: unknown, schema: z.ZodType<T>): T {
  if (raw === undefined || raw === '') throw new GatewayError('invalid-request', '', 'a JSON body is required, e.g. {"value": "…"}');
  if (typeof raw !== 'string') throw new GatewayError('invalid-request', '', 'the request body could not be read as text');
  const json = parseJson(raw);
  if (!json.ok) throw new GatewayError('invalid-json', '', `the request body is ${json.issue.message}`);
  const body = validate(schema, json.value, 'request body');
  checkBytes({ field: 'value', text: body.value, limitBytes: ctx.limits.valueBytes });
  if (typeof body.expected === 'string') checkBytes({ field: 'expected', text: body.expected, limitBytes: ctx.limits.valueBytes });
  return body;
}

/** Zod at the gateway, its issues worded as the rest of the project words them (kv/errors.ts). */
function validate<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = issuesFromZod(parsed.error);
  throw new GatewayError('invalid-request', issues[0]?.field ?? '', `invalid ${what}: ${describeIssues(issues)}`);
}

function describeIssues(issues: readonly KvIssue[]): string {
  return issues.map((i) => (i.field === '' ? i.message : `${i.field}: ${i.message}`)).join('; ');
}

function checkBytes(check: { readonly field: string; readonly text: string; readonly limitBytes: number }): void {
  const bytes = Buffer.byteLength(check.text, 'utf8');
  if (bytes > check.limitBytes) throw new GatewayError('too-large', check.field, `${check.field} is ${bytes} bytes (UTF-8); the limit is ${check.limitBytes}`);
}
