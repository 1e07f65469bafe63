/**
 * CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78): the checksum of iSCSI
 * (RFC 3720), ext4, LevelDB/RocksDB and etcd's WAL, chosen over CRC-32 (IEEE) for its better
 * detection of the short error bursts that torn writes and bit rot produce.
 *
 * Table-driven slicing-by-16 in plain JS: sixteen 256-entry tables fold sixteen input bytes per
 * loop iteration with independent lookups, which V8 compiles to tight integer code — about
 * 0.6–1 GB/s on this machine (slicing-by-8 measured 0.5–0.8). The native `@node-rs/crc32` reaches
 * ~3 GB/s on large buffers but is slower than this below ~200 bytes (the N-API call dominates)
 * and brings a platform-specific prebuilt binary; recovery reads every byte from the file system
 * anyway, which costs more than this checksum, so the package stays dependency-free.
 */

const POLY_REFLECTED = 0x82f63b78;
const SLICES = 16;

/** TABLES[k * 256 + b]: the CRC register after byte b followed by k zero bytes. */
const TABLES: Int32Array = buildTables();

function buildTables(): Int32Array {
  const t = new Int32Array(SLICES * 256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY_REFLECTED : c >>> 1;
    t[b] = c;
  }
  for (let b = 0; b < 256; b++) {
    let c = t[b] as number;
    for (let k = 1; k < SLICES; k++) {
      c = (t[c & 0xff] as number) ^ (c >>> 8);
      t[k * 256 + b] = c;
    }
  }
  return t;
}

/**
 * CRC-32C of `bytes[start, end)`, continuing from `previous` (the CRC of what came before; 0 to
 * start afresh), so that a checksum can span pieces without concatenating them:
 * `crc32c(b, crc32c(a)) === crc32c(concat(a, b))`. Returns an unsigned 32-bit integer.
 */
export function crc32c(bytes: Uint8Array, previous = 0, start = 0, end = bytes.length): number {
  const t = TABLES;
  let crc = ~previous;
  let i = start;
  // A byte at a time until what is left is a multiple of 16, then sixteen at a time.
  const head = start + ((end - start) & 15);
  for (; i < head; i++) crc = (t[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  for (; i < end; i += 16) {
    const a = crc ^ ((bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24));
    crc =
      (t[3840 + (a & 0xff)] as number) ^
      (t[3584 + ((a >>> 8) & 0xff)] as number) ^
      (t[3328 + ((a >>> 16) & 0xff)] as number) ^
      (t[3072 + (a >>> 24)] as number) ^
      (t[2816 + (bytes[i + 4] as number)] as number) ^
      (t[2560 + (bytes[i + 5] as number)] as number) ^
      (t[2304 + (bytes[i + 6] as number)] as number) ^
      (t[2048 + (bytes[i + 7] as number)] as number) ^
      (t[1792 + (bytes[i + 8] as number)] as number) ^
      (t[1536 + (bytes[i + 9] as number)] as number) ^
      (t[1280 + (bytes[i + 10] as number)] as number) ^
      (t[1024 + (bytes[i + 11] as number)] as number) ^
      (t[768 + (bytes[i + 12] as number)] as number) ^
      (t[512 + (bytes[i + 13] as number)] as number) ^
      (t[256 + (bytes[i + 14] as number)] as number) ^
      (t[bytes[i + 15] as number] as number);
  }
  return ~crc >>> 0;
}
