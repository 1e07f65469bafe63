/** Error messages shared by the schemas: one wording for every discriminated union. */

/**
 * A clear message for a discriminated union whose discriminator is missing or unknown; other
 * union failures keep Zod's default message.
 */
export function unknownDiscriminator(
  issue: { code?: string | undefined; input?: unknown; note?: string | undefined; discriminator?: string | undefined },
  what: string,
  known: readonly string[],
): string | undefined {
  if (issue.code !== 'invalid_union' || issue.note !== 'No matching discriminator') return undefined;
  const input = issue.input;
  const key = issue.discriminator ?? '';
  const present = typeof input === 'object' && input !== null && key in input;
  if (!present) return `missing ${what} (field "${key}"); expected one of: ${known.join(', ')}`;
  const got = JSON.stringify((input as Record<string, unknown>)[key]);
  return `unknown ${what} ${got}; expected one of: ${known.join(', ')}`;
}
