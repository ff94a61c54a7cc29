/**
 * `<length>:<value>` per component, joined by `|`: no choice of values (not even ones containing `:` or
 * `|`) can make two different component lists produce the same string. Every Redis key built from
 * caller-supplied names goes through this, so one tenant can never address another tenant's key.
 */
export const lengthPrefixed = (...parts: readonly string[]): string =>
  parts.map((p) => `${p.length}:${p}`).join('|');
