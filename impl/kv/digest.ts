/**
 * FNV-1a 64 over UTF-8: a cheap, deterministic fingerprint (not a cryptographic hash) used to
 * compare replicas' state (S-SMS) without shipping whole snapshots around.
 *
 * Computed on two 32-bit halves because JavaScript numbers are exact only up to 2^53 and BigInt
 * arithmetic per byte is an order of magnitude slower.
 */

const OFFSET_HI = 0xcbf29ce4;
const OFFSET_LO = 0x84222325;
/** The FNV 64-bit prime is 2^40 + 0x1b3. */
const PRIME_LO = 0x1b3;

/** FNV-1a 64 of the UTF-8 encoding of `text`, as 16 lowercase hex digits. */
export function fnv1a64(text: string): string {
  let hi = OFFSET_HI;
  let lo = OFFSET_LO;
  const step = (byte: number): void => {
    lo = (lo ^ byte) >>> 0;
    // h * (2^40 + 0x1b3) mod 2^64 = h * 0x1b3 + (h << 40). Every intermediate stays below 2^53.
    const loProduct = lo * PRIME_LO;
    const carry = Math.floor(loProduct / 0x1_0000_0000);
    hi = (hi * PRIME_LO + carry + ((lo << 8) >>> 0)) >>> 0;
    lo = loProduct >>> 0;
  };
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    // A surrogate pair is one code point (four UTF-8 bytes); a lone surrogate encodes as U+FFFD,
    // as TextEncoder does, so the digest equals FNV-1a over TextEncoder's bytes.
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else {
        code = 0xfffd;
      }
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      code = 0xfffd;
    }
    if (code < 0x80) {
      step(code);
    } else if (code < 0x800) {
      step(0xc0 | (code >> 6));
      step(0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      step(0xe0 | (code >> 12));
      step(0x80 | ((code >> 6) & 0x3f));
      step(0x80 | (code & 0x3f));
    } else {
      step(0xf0 | (code >> 18));
      step(0x80 | ((code >> 12) & 0x3f));
      step(0x80 | ((code >> 6) & 0x3f));
      step(0x80 | (code & 0x3f));
    }
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}
