import { describe, expect, it } from 'vitest';
import { isTopicMissing } from '#shared/adapters/kafka/kafka-errors';
import { logThrottle } from '#shared/adapters/kafka/log-throttle';
import { DependencyUnavailableError } from '#shared/domain/errors';

describe('isTopicMissing', () => {
  it('finds the broker answer under the wrappers kafkajs and our errors put around it', () => {
    const protocol = Object.assign(new Error('This server does not host this topic-partition'), {
      type: 'UNKNOWN_TOPIC_OR_PARTITION',
    });
    const retries = Object.assign(new Error('retries exceeded'), { originalError: protocol });
    const ours = new DependencyUnavailableError('kafka', 'publishing failed', { cause: retries });

    expect(isTopicMissing(ours)).toBe(true);
    expect(isTopicMissing(Object.assign(new Error('x'), { errors: [new Error('x'), protocol] }))).toBe(true);
  });

  it('is false for other failures', () => {
    expect(isTopicMissing(new Error('Connection error: connect ECONNREFUSED'))).toBe(false);
    expect(isTopicMissing(undefined)).toBe(false);
  });
});

describe('logThrottle', () => {
  it('lets one line a second through per cause and counts the ones it held back', () => {
    let now = 0;
    const throttle = logThrottle(1000, () => now);

    const seen = [0, 100, 200, 300, 999].map((t) => {
      now = t;
      return throttle('broker down').log;
    });
    now = 1000;
    const next = throttle('broker down');
    const other = throttle('topic missing');

    expect(seen).toEqual([true, false, false, false, false]);
    expect(next).toEqual({ log: true, repeated: 4 });
    expect(other).toEqual({ log: true, repeated: 0 });
  });
});
