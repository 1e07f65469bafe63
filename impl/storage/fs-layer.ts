/**
 * The file-system calls the storage makes, behind an interface so that tests can inject faults
 * (ENOSPC halfway through a write, EACCES, a crash between two steps) without root, a full disk
 * or a kill. `nodeFs` binds it to node:fs.
 *
 * Synchronous calls serve recovery at open and the core's synchronous log reads; the write path
 * (group commit, rotation, snapshot files) is asynchronous so that a sync never blocks the event
 * loop of the host.
 */
import * as fs from 'node:fs';

export interface StorageFs {
  openSync(path: string, flags: string): number;
  closeSync(fd: number): void;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  /** Size of an open file. */
  fstatSync(fd: number): { readonly size: number };
  statSync(path: string): { isDirectory(): boolean; isFile(): boolean; readonly size: number };
  readdirSync(path: string): string[];
  mkdirSync(path: string): void;
  unlinkSync(path: string): void;
  renameSync(from: string, to: string): void;
  ftruncateSync(fd: number, length: number): void;
  fsyncSync(fd: number): void;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;

  open(path: string, flags: string): Promise<number>;
  close(fd: number): Promise<void>;
  /** pwritev: writes `buffers` at `position`; resolves with the bytes written (possibly fewer). */
  writev(fd: number, buffers: readonly Uint8Array[], position: number): Promise<number>;
  fdatasync(fd: number): Promise<void>;
  fsync(fd: number): Promise<void>;
  ftruncate(fd: number, length: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
}

function settle<T>(run: (done: (err: NodeJS.ErrnoException | null, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    run((err, value) => (err === null ? resolve(value as T) : reject(err)));
  });
}

/** The real file system. */
export const nodeFs: StorageFs = Object.freeze({
  openSync: (path: string, flags: string) => fs.openSync(path, flags, 0o644),
  closeSync: (fd: number) => fs.closeSync(fd),
  readSync: (fd: number, buffer: Uint8Array, offset: number, length: number, position: number) => fs.readSync(fd, buffer, offset, length, position),
  fstatSync: (fd: number) => fs.fstatSync(fd),
  statSync: (path: string) => fs.statSync(path),
  readdirSync: (path: string) => fs.readdirSync(path),
  mkdirSync: (path: string) => void fs.mkdirSync(path, { recursive: true }),
  unlinkSync: (path: string) => fs.unlinkSync(path),
  renameSync: (from: string, to: string) => fs.renameSync(from, to),
  ftruncateSync: (fd: number, length: number) => fs.ftruncateSync(fd, length),
  fsyncSync: (fd: number) => fs.fsyncSync(fd),
  writeSync: (fd: number, buffer: Uint8Array, offset: number, length: number, position: number) => fs.writeSync(fd, buffer, offset, length, position),

  open: (path: string, flags: string) => settle<number>((done) => fs.open(path, flags, 0o644, done)),
  close: (fd: number) => settle<void>((done) => fs.close(fd, done)),
  writev: (fd: number, buffers: readonly Uint8Array[], position: number) =>
    settle<number>((done) => fs.writev(fd, buffers as Uint8Array[], position, (err, written) => done(err, written))),
  fdatasync: (fd: number) => settle<void>((done) => fs.fdatasync(fd, done)),
  fsync: (fd: number) => settle<void>((done) => fs.fsync(fd, done)),
  ftruncate: (fd: number, length: number) => settle<void>((done) => fs.ftruncate(fd, length, done)),
  rename: (from: string, to: string) => settle<void>((done) => fs.rename(from, to, done)),
  unlink: (path: string) => settle<void>((done) => fs.unlink(path, done)),
});

/**
 * Makes a directory's entries durable: a created, renamed or removed file is only certain to
 * survive a power loss once its directory is fsynced (the file's own fsync covers its data, not
 * the name pointing to it).
 */
export function fsyncDirSync(fsys: StorageFs, dir: string): void {
  const fd = fsys.openSync(dir, 'r');
  try {
    fsys.fsyncSync(fd);
  } finally {
    fsys.closeSync(fd);
  }
}

export async function fsyncDir(fsys: StorageFs, dir: string): Promise<void> {
  const fd = await fsys.open(dir, 'r');
  try {
    await fsys.fsync(fd);
  } finally {
    await fsys.close(fd);
  }
}

/** Writes all of `buffers` at `position`, continuing after short writes (pwritev may write less). */
export async function writeAll(fsys: StorageFs, fd: number, buffers: readonly Uint8Array[], position: number): Promise<void> {
  let pending = buffers.filter((b) => b.length > 0);
  let at = position;
  while (pending.length > 0) {
    let written = await fsys.writev(fd, pending, at);
    if (written <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    at += written;
    const rest: Uint8Array[] = [];
    for (const b of pending) {
      if (written >= b.length) {
        written -= b.length;
        continue;
      }
      rest.push(written === 0 ? b : b.subarray(written));
      written = 0;
    }
    pending = rest;
  }
}
