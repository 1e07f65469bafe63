/** Small hash helpers the models share: 32-bit, deterministic, consistent with `===`. */

/** The hash of the empty string; `extendHash` continues from here. */
export const EMPTY_HASH = 0;

/**
 * Polynomial string hash, continued over `text`: `extendHash(extendHash(h, a), b)` equals
 * `extendHash(h, a + b)`, so a model whose state grows by appending can hash incrementally.
 */
export function extendHash(hash: number, text: string): number {
  let h = hash;
  for (let i = 0; i < text.length; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0;
  return h;
}

/** A string or null (absent), hashed so that null differs from every short string. */
export function hashNullableString(value: string | null): number {
  return value === null ? 0x6b43a9b5 : extendHash(0x1b873593, value);
}

/** An integer or string or null (a Jepsen register value). */
export function hashScalar(value: number | string | null): number {
  if (value === null) return 0x6b43a9b5;
  if (typeof value === 'number') return Math.imul((value | 0) ^ Math.floor(value / 0x100000000), 0x27d4eb2d) ^ 0x165667b1;
  return extendHash(0x1b873593, value);
}
