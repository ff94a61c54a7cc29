import { type CacheEntry, mayReplace } from '#shared/domain/cache-entry';
import type { RouteCache } from '#shared/ports/route-cache.port';

interface Slot {
  entry: CacheEntry;
  expiresAt: number;
}

/**
 * A bounded in-process cache with the same revision rule as Redis. Used (a) as the optional
 * in-container tier in front of Redis and (b) as the fake in unit tests.
 */
export class MemoryRouteCache implements RouteCache {
  readonly name = 'memory';
  private readonly slots = new Map<string, Slot>();

  constructor(
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: string): Promise<CacheEntry | null> {
    return this.peek(key);
  }

  peek(key: string): CacheEntry | null {
    const slot = this.slots.get(key);
    if (!slot) return null;
    if (slot.expiresAt <= this.now()) {
      this.slots.delete(key);
      return null;
    }
    return slot.entry;
  }

  async putIfNewer(key: string, entry: CacheEntry, ttlMs: number): Promise<boolean> {
    return this.store(key, entry, ttlMs);
  }

  store(key: string, entry: CacheEntry, ttlMs: number): boolean {
    if (!mayReplace(this.peek(key), entry)) return false;
    this.slots.delete(key);
    if (this.slots.size >= this.maxEntries) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.slots.keys().next().value;
      if (oldest !== undefined) this.slots.delete(oldest);
    }
    this.slots.set(key, { entry, expiresAt: this.now() + ttlMs });
    return true;
  }

  async ping(): Promise<void> {}

  delete(key: string): void {
    this.slots.delete(key);
  }

  get size(): number {
    return this.slots.size;
  }
}

/**
 * Memory tier in front of a shared cache. A memory hit may be at most `memoryTtlMs` old: that is the
 * staleness bound a container adds (writes in this container update it at once).
 */
export class TieredRouteCache implements RouteCache {
  readonly name: string;

  constructor(
    private readonly memory: MemoryRouteCache,
    private readonly shared: RouteCache,
    private readonly memoryTtlMs: number,
  ) {
    this.name = `memory+${shared.name}`;
  }

  async get(key: string): Promise<CacheEntry | null> {
    const local = this.memory.peek(key);
    if (local && local.kind !== 'tombstone') return local;
    const entry = await this.shared.get(key);
    if (entry) this.memory.store(key, entry, this.memoryTtlMs);
    return entry;
  }

  async putIfNewer(key: string, entry: CacheEntry, ttlMs: number): Promise<boolean> {
    this.memory.store(key, entry, Math.min(ttlMs, this.memoryTtlMs));
    const stored = await this.shared.putIfNewer(key, entry, ttlMs);
    // The shared tier holds something newer: do not keep the older entry here either.
    if (!stored) this.memory.delete(key);
    return stored;
  }

  async ping(): Promise<void> {
    await this.shared.ping();
  }
}
