import { describe, expect, it } from 'vitest';
import { HmacTokenHasher, hashKeyIdOf, parseHashKeys } from '#shared/adapters/auth/token-hasher.hmac';

const KEY_A = 'a'.repeat(32);
const KEY_B = 'b'.repeat(40);
const TOKEN = 'tm_abcdefghijklmnop_0123456789012345678901234567890123456789012';

describe('HmacTokenHasher', () => {
  it('hashes with the first key and verifies in constant time against the key the hash names', async () => {
    const hasher = new HmacTokenHasher(async () => `${KEY_A},${KEY_B}`);
    const { keyId, digest } = await hasher.hash(TOKEN);

    expect(keyId).toBe(hashKeyIdOf(KEY_A));
    expect(digest).toHaveLength(32);
    expect(digest.toString('utf8')).not.toContain('0123456789');
    expect(await hasher.matches(TOKEN, keyId, digest)).toBe(true);
    expect(await hasher.matches(`${TOKEN.slice(0, -1)}3`, keyId, digest)).toBe(false);
    expect(await hasher.matches(TOKEN, hashKeyIdOf(KEY_B), digest)).toBe(false);
  });

  it('keeps tokens hashed with an older key valid while that key is still listed, and only then', async () => {
    const old = await new HmacTokenHasher(async () => KEY_A).hash(TOKEN);

    const rotating = new HmacTokenHasher(async () => `${KEY_B},${KEY_A}`);
    expect(await rotating.matches(TOKEN, old.keyId, old.digest)).toBe(true);
    expect((await rotating.hash(TOKEN)).keyId).toBe(hashKeyIdOf(KEY_B));

    const rotated = new HmacTokenHasher(async () => KEY_B);
    expect(await rotated.matches(TOKEN, old.keyId, old.digest)).toBe(false);
  });

  it('loads its keys once, and again after a failed load', async () => {
    let loads = 0;
    const hasher = new HmacTokenHasher(async () => {
      loads++;
      if (loads === 1) throw new Error('secret unavailable');
      return KEY_A;
    });
    await expect(hasher.hash(TOKEN)).rejects.toThrow('secret unavailable');
    await hasher.hash(TOKEN);
    await hasher.hash(TOKEN);
    expect(loads).toBe(2);
  });

  it('refuses short or empty keys without echoing them', () => {
    expect(() => parseHashKeys('short-key')).toThrow(/at least 32 characters/);
    expect(() => parseHashKeys(' , ')).toThrow(/empty/);
    try {
      parseHashKeys(`${KEY_A},tiny-secret-value`);
    } catch (err) {
      expect(String(err)).not.toContain('tiny-secret-value');
    }
  });
});
