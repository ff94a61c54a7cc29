import { describe, expect, it } from 'vitest';
import { backoffDelayMs, DEFAULT_RETRY, parseRetryAfter } from '#client/retry';

const policy = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1_000 };
const NOW = Date.parse('2026-01-01T00:00:00Z');

describe('parseRetryAfter', () => {
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('3', NOW)).toBe(3_000);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
  });

  it('reads an HTTP-date as the time left until it, and a past date as now', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', NOW)).toBe(5_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', NOW)).toBe(0);
  });

  it('returns null for a missing or unreadable header', () => {
    expect(parseRetryAfter(null, NOW)).toBeNull();
    expect(parseRetryAfter('soon', NOW)).toBeNull();
    expect(parseRetryAfter('-1', NOW)).toBeNull();
  });
});

describe('backoffDelayMs (full jitter)', () => {
  it('draws each wait uniformly between 0 and a bound that doubles per retry', () => {
    expect(backoffDelayMs(1, policy, () => 0)).toBe(0);
    expect(backoffDelayMs(1, policy, () => 0.999)).toBe(99);
    expect(backoffDelayMs(2, policy, () => 0.999)).toBe(199);
    expect(backoffDelayMs(3, policy, () => 0.5)).toBe(200);
  });

  it('never lets the bound exceed maxDelayMs', () => {
    expect(backoffDelayMs(30, policy, () => 0.999)).toBe(999);
  });

  it("waits at least the API's Retry-After, with a spread of at most one base delay above it", () => {
    expect(backoffDelayMs(1, policy, () => 0, 2_000)).toBe(2_000);
    expect(backoffDelayMs(5, policy, () => 0.999, 2_000)).toBe(2_099);
  });

  it('spreads a fleet: many draws cover the range rather than one value', () => {
    let seed = 1;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    const waits = Array.from({ length: 1000 }, () => backoffDelayMs(4, policy, random));
    expect(Math.min(...waits)).toBeLessThan(80);
    expect(Math.max(...waits)).toBeGreaterThan(720);
    expect(new Set(waits).size).toBeGreaterThan(300);
  });
});
