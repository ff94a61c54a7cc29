/**
 * Keyed hashing of API tokens (HMAC-SHA256 with a server key). Several keys may be configured during
 * a rotation: new hashes use the first, verification uses the key a hash was made with.
 */
export interface TokenHasher {
  hash(token: string): Promise<{ readonly keyId: string; readonly digest: Buffer }>;
  /** Constant-time comparison; false when `keyId` is no longer configured. */
  matches(token: string, keyId: string, digest: Buffer): Promise<boolean>;
}
