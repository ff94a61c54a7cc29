import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TokenParts } from '#shared/domain/auth';
import type { TokenHasher } from '#shared/ports/token-hasher.port';

const MIN_KEY_LENGTH = 32;

interface HashKey {
  readonly id: string;
  readonly key: Buffer;
}

/** A key's id is a prefix of its SHA-256: stored next to each hash, it names the key without revealing it. */
export const hashKeyIdOf = (key: string): string =>
  createHash('sha256').update(key).digest('hex').slice(0, 16);

/** `key1,key2,…` (the first signs new tokens) → keys; throws naming the problem, never the value. */
export const parseHashKeys = (value: string): HashKey[] => {
  const keys = value
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
  if (keys.length === 0) throw new Error('the token hash key is empty');
  if (keys.some((k) => k.length < MIN_KEY_LENGTH)) {
    throw new Error(`every token hash key must be at least ${MIN_KEY_LENGTH} characters`);
  }
  return keys.map((k) => ({ id: hashKeyIdOf(k), key: Buffer.from(k, 'utf8') }));
};

/**
 * HMAC-SHA256 over the whole token (`tm_<id>_<secret>`, so a hash is bound to its id). The keys are
 * loaded once per container on first use (from the environment or Secrets Manager) and cached; a
 * failed load is retried on the next call.
 */
export class HmacTokenHasher implements TokenHasher {
  private keys: Promise<HashKey[]> | undefined;

  constructor(private readonly loadKeys: () => Promise<string>) {}

  private async current(): Promise<HashKey[]> {
    this.keys ??= this.loadKeys()
      .then(parseHashKeys)
      .catch((err: unknown) => {
        this.keys = undefined;
        throw err;
      });
    return this.keys;
  }

  async hash(token: string): Promise<{ keyId: string; digest: Buffer }> {
    const [first] = await this.current();
    return { keyId: first!.id, digest: createHmac('sha256', first!.key).update(token).digest() };
  }

  async matches(token: string, keyId: string, digest: Buffer): Promise<boolean> {
    const key = (await this.current()).find((k) => k.id === keyId);
    if (!key || digest.length !== 32) return false;
    return timingSafeEqual(createHmac('sha256', key.key).update(token).digest(), digest);
  }
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** A fresh token: 80 random bits of id (16 base32 characters) and 256 of secret (43 base64url). */
export const newTokenParts = (): TokenParts => {
  const bytes = randomBytes(10);
  let bits = 0;
  let value = 0;
  let id = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      id += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return { id, secret: randomBytes(32).toString('base64url') };
};
