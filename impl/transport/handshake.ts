/**
 * Peer authentication: every node of a cluster holds the same secret, and a connection carries
 * Raft messages only after both ends proved they know it (mutual HMAC-SHA256 challenge-response).
 *
 *   dialer → acceptor   hello     { from, to, nonce: Nd }
 *   acceptor → dialer   challenge { nonce: Na, proof: HMAC(secret, Nd | dialer | acceptor | "acceptor") }
 *   dialer → acceptor   proof     { proof: HMAC(secret, Na | dialer | acceptor | "dialer") }
 *   acceptor → dialer   welcome
 *
 * Either side that cannot go on sends `refused { reason }` (so the other end can log why) and
 * closes. Fresh random nonces make every proof single-use; the direction in the MAC keeps a proof
 * from being reflected back at its author; proofs are compared with `timingSafeEqual`.
 *
 * What this is not: encryption or per-message integrity. It keeps strangers and misconfigured
 * nodes out of a cluster; on an untrusted network, run the peer links inside a private network,
 * WireGuard or a TLS tunnel.
 *
 * Also here: `loadSecret`, which reads the secret from `--secret-file FILE` or FIGURE2_SECRET.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { NodeId } from '../../spec/schemas/primitives.ts';
import { ConnectionClosedError, isProtocolError, type FramedConnection } from './connection.ts';
import { decodePayload, describeIssues, encodeHandshakeFrame, FrameKind, WireError } from './wire.ts';

export const HANDSHAKE_VERSION = 1;

/** Handshake frames are tiny; the limit before authentication keeps strangers from making us allocate. */
export const HANDSHAKE_MAX_FRAME_BYTES = 4096;

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000;

const NONCE_BYTES = 32;
const Hex32 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits');

const Hello = z.object({ type: z.literal('hello'), version: z.int(), from: NodeId, to: NodeId, nonce: Hex32 });
const Challenge = z.object({ type: z.literal('challenge'), nonce: Hex32, proof: Hex32 });
const Proof = z.object({ type: z.literal('proof'), proof: Hex32 });
const Welcome = z.object({ type: z.literal('welcome') });
const Refused = z.object({ type: z.literal('refused'), reason: z.string().max(500) });
const HandshakeMessage = z.discriminatedUnion('type', [Hello, Challenge, Proof, Welcome, Refused]);
type HandshakeMessage = z.infer<typeof HandshakeMessage>;
type Hello = z.infer<typeof Hello>;

export type HandshakeErrorKind =
  /** The dialer named a node that is not in the acceptor's peer list (or the acceptor itself). */
  | 'unknown-peer'
  /** The dialer meant to reach another node (a wrong address in someone's peer list). */
  | 'wrong-recipient'
  /** A proof did not match: the two nodes do not hold the same secret. */
  | 'bad-proof'
  /** The other side refused us, and said why. */
  | 'refused'
  /** Bytes that are not this handshake (another protocol, another version, out of order). */
  | 'protocol'
  | 'timeout'
  /** The connection closed during the handshake. */
  | 'closed';

/** A failed handshake. `message` is written for the operator reading the log. */
export class HandshakeError extends Error {
  override readonly name = 'HandshakeError';
  constructor(
    readonly kind: HandshakeErrorKind,
    message: string,
  ) {
    super(message);
  }

  /** Failures that mean "someone without the right credentials tried": counted as auth failures. */
  get isAuthFailure(): boolean {
    return this.kind === 'unknown-peer' || this.kind === 'bad-proof' || this.kind === 'refused' || this.kind === 'wrong-recipient';
  }
}

export interface DialHandshakeOptions {
  /** This node. */
  readonly self: NodeId;
  /** The node we mean to reach. */
  readonly peer: NodeId;
  readonly secret: Buffer;
  readonly timeoutMs?: number | undefined;
}

export interface AcceptHandshakeOptions {
  /** This node. */
  readonly self: NodeId;
  /** The nodes allowed to connect. */
  readonly peers: ReadonlySet<NodeId>;
  readonly secret: Buffer;
  readonly timeoutMs?: number | undefined;
}

/** Runs the dialer's side on a fresh connection; resolves once the peer welcomed us. */
export function dialHandshake(conn: FramedConnection, options: DialHandshakeOptions): Promise<void> {
  return withDeadline(conn, options.timeoutMs, async () => {
    const { self, peer, secret } = options;
    const nonce = randomBytes(NONCE_BYTES).toString('hex');
    send(conn, { type: 'hello', version: HANDSHAKE_VERSION, from: self, to: peer, nonce });
    const challenge = await expect(conn, 'challenge', peer);
    if (!proofMatches(challenge.proof, { secret, nonce, dialer: self, acceptor: peer, role: 'acceptor' })) {
      throw refuse(conn, 'bad-proof', `${peer} at ${conn.remote} could not prove it holds the cluster secret: the secrets differ (or that address is not ${peer})`, 'authentication failed');
    }
    send(conn, { type: 'proof', proof: mac({ secret, nonce: challenge.nonce, dialer: self, acceptor: peer, role: 'dialer' }) });
    await expect(conn, 'welcome', peer);
  });
}

/** Runs the acceptor's side on an accepted connection; resolves with the authenticated peer id. */
export function acceptHandshake(conn: FramedConnection, options: AcceptHandshakeOptions): Promise<NodeId> {
  return withDeadline(conn, options.timeoutMs, async () => {
    const { self, secret } = options;
    const hello = await expect(conn, 'hello', `the node at ${conn.remote}`);
    checkHello(conn, hello, options);
    const dialer = hello.from;
    const nonce = randomBytes(NONCE_BYTES).toString('hex');
    send(conn, { type: 'challenge', nonce, proof: mac({ secret, nonce: hello.nonce, dialer, acceptor: self, role: 'acceptor' }) });
    const answer = await expect(conn, 'proof', dialer);
    if (!proofMatches(answer.proof, { secret, nonce, dialer, acceptor: self, role: 'dialer' })) {
      throw refuse(conn, 'bad-proof', `${dialer} at ${conn.remote} could not prove it holds the cluster secret: the secrets differ`, 'authentication failed');
    }
    send(conn, { type: 'welcome' });
    return dialer;
  });
}

function checkHello(conn: FramedConnection, hello: Hello, options: AcceptHandshakeOptions): void {
  if (hello.version !== HANDSHAKE_VERSION) {
    throw refuse(conn, 'protocol', `${hello.from} at ${conn.remote} speaks handshake version ${hello.version}; this node speaks ${HANDSHAKE_VERSION}`, `unsupported handshake version ${hello.version}`);
  }
  if (hello.to !== options.self) {
    throw refuse(conn, 'wrong-recipient', `${hello.from} at ${conn.remote} wanted to reach ${JSON.stringify(hello.to)}, but this is ${options.self}: check its peer list`, `this is ${options.self}, not ${hello.to}`);
  }
  if (hello.from === options.self || !options.peers.has(hello.from)) {
    throw refuse(conn, 'unknown-peer', `refused ${conn.remote}: node id ${JSON.stringify(hello.from)} is not one of this node's peers`, `unknown node id ${JSON.stringify(hello.from)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Proofs.

interface MacInput {
  readonly secret: Buffer;
  /** The challenge being answered (hex). */
  readonly nonce: string;
  readonly dialer: NodeId;
  readonly acceptor: NodeId;
  /** Who computes this proof. */
  readonly role: 'dialer' | 'acceptor';
}

/** HMAC-SHA256 over an unambiguous encoding (a JSON array) of the nonce, both ids and the direction. */
function mac(input: MacInput): string {
  const message = JSON.stringify(['figure2-peer-auth', HANDSHAKE_VERSION, input.nonce, input.dialer, input.acceptor, input.role]);
  return createHmac('sha256', input.secret).update(message, 'utf8').digest('hex');
}

function proofMatches(received: string, expected: MacInput): boolean {
  const got = Buffer.from(received, 'hex');
  const want = Buffer.from(mac(expected), 'hex');
  return got.length === want.length && timingSafeEqual(got, want);
}

// ---------------------------------------------------------------------------------------------
// Frames.

function send(conn: FramedConnection, message: HandshakeMessage): void {
  conn.write(encodeHandshakeFrame(message));
}

/** Tells the other side why (best effort) and returns the error to throw; the caller's deadline wrapper closes. */
function refuse(conn: FramedConnection, kind: HandshakeErrorKind, message: string, reasonForPeer: string): HandshakeError {
  send(conn, { type: 'refused', reason: reasonForPeer });
  return new HandshakeError(kind, message);
}

type Expected = 'hello' | 'challenge' | 'proof' | 'welcome';
type MessageOf<T extends Expected> = Extract<HandshakeMessage, { type: T }>;

/** The next frame, which must be a `type` handshake message (or a refusal, which throws). */
async function expect<T extends Expected>(conn: FramedConnection, type: T, from: string): Promise<MessageOf<T>> {
  let payload: Buffer;
  try {
    payload = await conn.next();
  } catch (error) {
    if (isProtocolError(error)) throw new HandshakeError('protocol', `${from} does not speak figure2's peer protocol: ${error.message}`);
    const why = error instanceof ConnectionClosedError ? 'the connection closed' : `the connection failed (${error instanceof Error ? error.message : String(error)})`;
    throw new HandshakeError('closed', `${why} during the handshake with ${from} (waiting for ${type})`);
  }
  const message = parseHandshake(payload, from);
  if (message.type === 'refused') throw new HandshakeError('refused', `${from} refused the connection: ${message.reason}`);
  if (message.type !== type) throw refuse(conn, 'protocol', `${from} sent a handshake "${message.type}" where "${type}" was due`, 'handshake out of order');
  return message as MessageOf<T>;
}

function parseHandshake(payload: Buffer, from: string): HandshakeMessage {
  let decoded;
  try {
    decoded = decodePayload(payload);
  } catch (error) {
    throw new HandshakeError('protocol', `${from} does not speak figure2's peer protocol: ${error instanceof WireError ? error.message : String(error)}`);
  }
  if (decoded.kind !== FrameKind.HANDSHAKE) throw new HandshakeError('protocol', `${from} sent messages before the handshake finished`);
  const parsed = HandshakeMessage.safeParse(decoded.body);
  if (!parsed.success) throw new HandshakeError('protocol', `${from} sent an invalid handshake message: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** Runs `run` with a time bound; on timeout or failure the connection is closed. */
async function withDeadline<T>(conn: FramedConnection, timeoutMs: number | undefined, run: () => Promise<T>): Promise<T> {
  const bound = timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HandshakeError('timeout', `the handshake with ${conn.remote} did not finish within ${bound} ms`)), bound);
  });
  try {
    return await Promise.race([run(), deadline]);
  } catch (error) {
    closeGently(conn);
    throw error instanceof HandshakeError ? error : new HandshakeError('protocol', error instanceof Error ? error.message : String(error));
  } finally {
    clearTimeout(timer);
  }
}

/** How long a refused connection may take to deliver its `refused` frame and close. */
const CLOSE_GRACE_MS = 1000;

/** end() rather than destroy(), so that a `refused` frame still leaves; the timer bounds it. */
function closeGently(conn: FramedConnection): void {
  conn.socket.end();
  const timer = setTimeout(() => conn.destroy(), CLOSE_GRACE_MS);
  void conn.closed.then(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// The cluster secret.

/** The environment variable that may hold the cluster secret. */
export const SECRET_ENV = 'FIGURE2_SECRET';

/** Shorter secrets are refused: 16 bytes is the least an HMAC key should carry. */
export const MIN_SECRET_BYTES = 16;

export type SecretErrorKind = 'missing' | 'unreadable' | 'too-short';

/** The secret could not be loaded; `message` tells the operator what to do. */
export class SecretError extends Error {
  override readonly name = 'SecretError';
  constructor(
    readonly kind: SecretErrorKind,
    message: string,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
  }
}

export interface LoadSecretOptions {
  /** `--secret-file FILE`; wins over the environment when both are given. */
  readonly file?: string | undefined;
  readonly env: NodeJS.ProcessEnv;
}

const HOW_TO_MAKE_ONE = `e.g. \`openssl rand -hex 32 > cluster.secret\`, the same file on every node`;

/**
 * The cluster secret, from the file if one is named, else from FIGURE2_SECRET. Trailing
 * whitespace (the newline `echo` and editors add) is not part of the secret. Throws SecretError.
 */
export function loadSecret(options: LoadSecretOptions): Buffer {
  const { secret, source } = options.file !== undefined ? readSecretFile(options.file) : readSecretEnv(options.env);
  if (secret.length === 0) throw new SecretError('too-short', `the cluster secret in ${source} is empty; ${HOW_TO_MAKE_ONE}`);
  if (secret.length < MIN_SECRET_BYTES) {
    throw new SecretError('too-short', `the cluster secret in ${source} is ${secret.length} bytes; at least ${MIN_SECRET_BYTES} are required (${HOW_TO_MAKE_ONE})`);
  }
  return secret;
}

function readSecretFile(file: string): { secret: Buffer; source: string } {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new SecretError('unreadable', `cannot read the secret file ${file} (${code}): check the path given to --secret-file and its permissions`, { cause: error });
  }
  return { secret: trimTrailingWhitespace(raw), source: `--secret-file ${file}` };
}

function readSecretEnv(env: NodeJS.ProcessEnv): { secret: Buffer; source: string } {
  const value = env[SECRET_ENV];
  if (value === undefined) {
    throw new SecretError('missing', `no cluster secret: pass --secret-file FILE or set ${SECRET_ENV} (at least ${MIN_SECRET_BYTES} bytes; ${HOW_TO_MAKE_ONE})`);
  }
  return { secret: trimTrailingWhitespace(Buffer.from(value, 'utf8')), source: SECRET_ENV };
}

function trimTrailingWhitespace(bytes: Buffer): Buffer {
  let end = bytes.length;
  while (end > 0 && [0x20, 0x09, 0x0a, 0x0d].includes(bytes[end - 1] ?? 0)) end--;
  return bytes.subarray(0, end);
}
