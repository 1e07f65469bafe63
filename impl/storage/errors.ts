/**
 * Typed storage errors. Every error a user can meet names the file (and, for corruption, the byte
 * offset) and says what to do about it, because the person reading it is an operator looking at
 * a node that will not start, not the author of the code.
 */

export type StorageErrorKind =
  /** A record or file failed its checksum or framing somewhere other than a torn tail. */
  | 'corruption'
  /** A file named like a WAL segment (or a directory given as a WAL) that is not one. */
  | 'not-a-wal'
  /** A WAL or snapshot file written by a newer figure2. */
  | 'unsupported-version'
  /** Missing, not a directory, or the disk failed to read it. */
  | 'unreadable'
  /** EACCES, EPERM, EROFS. */
  | 'permission'
  /** ENOSPC, EDQUOT. */
  | 'disk-full'
  /** Any other file-system error. */
  | 'io'
  /** A write or sync failed earlier: the storage refuses further writes until reopened. */
  | 'failed'
  /** Used after close(). */
  | 'closed';

export interface StorageErrorOptions {
  readonly kind: StorageErrorKind;
  /** The file or directory concerned. */
  readonly path: string;
  readonly message: string;
  /** Byte offset in `path`, for corruption. */
  readonly offset?: number | undefined;
  /** The errno code (ENOSPC, …) when a system call failed. */
  readonly code?: string | undefined;
  readonly cause?: unknown;
}

export class StorageError extends Error {
  override readonly name = 'StorageError';
  readonly kind: StorageErrorKind;
  readonly path: string;
  readonly offset: number | undefined;
  readonly code: string | undefined;

  constructor(options: StorageErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = options.kind;
    this.path = options.path;
    this.offset = options.offset;
    this.code = options.code;
  }
}

/** errno code → kind, and the advice an operator can act on. */
const ERRNO: Readonly<Record<string, { readonly kind: StorageErrorKind; readonly advice: string }>> = {
  ENOSPC: { kind: 'disk-full', advice: 'the disk is full: free space, then restart (writes that were not acknowledged are simply retried by Raft)' },
  EDQUOT: { kind: 'disk-full', advice: 'the disk quota is exhausted: raise it or free space, then restart' },
  EACCES: { kind: 'permission', advice: 'permission denied: check the owner and mode of this path and of its directory' },
  EPERM: { kind: 'permission', advice: 'operation not permitted: check the owner and mode of this path and of its directory' },
  EROFS: { kind: 'permission', advice: 'the file system is read-only' },
  ENOENT: { kind: 'unreadable', advice: 'no such file or directory' },
  ENOTDIR: { kind: 'unreadable', advice: 'a component of this path is not a directory' },
  EISDIR: { kind: 'unreadable', advice: 'this is a directory, not a file' },
  EIO: { kind: 'unreadable', advice: 'the disk reported an I/O error: check the device (dmesg) before trusting this data' },
  EMFILE: { kind: 'io', advice: 'too many open files: raise the limit (ulimit -n)' },
};

/** The errno code of a failed system call (ENOSPC, …), or undefined for any other error. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** Wraps a failed system call as a StorageError: `cannot ACTION PATH: ADVICE (CODE)`. Passes StorageErrors through. */
export function fsError(err: unknown, context: { readonly path: string; readonly action: string }): StorageError {
  if (err instanceof StorageError) return err;
  const code = errnoCode(err);
  const known = code === undefined ? undefined : ERRNO[code];
  const detail = known?.advice ?? (err instanceof Error ? err.message : String(err));
  return new StorageError({
    kind: known?.kind ?? 'io',
    path: context.path,
    code,
    cause: err,
    message: `cannot ${context.action} ${context.path}: ${detail}${code === undefined ? '' : ` (${code})`}`,
  });
}

/** A record or file that failed its checks, named by file and byte offset. */
export function corruption(path: string, offset: number | undefined, what: string): StorageError {
  const at = offset === undefined ? path : `${path} at byte ${offset}`;
  return new StorageError({ kind: 'corruption', path, offset, message: `corrupt WAL: ${at}: ${what}` });
}
