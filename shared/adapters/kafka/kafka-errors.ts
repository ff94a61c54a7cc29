/** Reading kafkajs errors; no client here, so any function may use it without a Kafka binding. */
const TOPIC_MISSING = /does not host this topic-partition|unknown topic/i;

/**
 * True if the error (or any cause kafkajs wraps in it) says the topic does not exist on the cluster: the
 * broker lost it (a local broker restarted on empty storage) or someone deleted it.
 */
export const isTopicMissing = (err: unknown, depth = 0): boolean => {
  if (!err || typeof err !== 'object' || depth > 6) return false;
  const e = err as {
    type?: unknown;
    message?: unknown;
    cause?: unknown;
    originalError?: unknown;
    errors?: unknown;
  };
  if (e.type === 'UNKNOWN_TOPIC_OR_PARTITION') return true;
  if (typeof e.message === 'string' && TOPIC_MISSING.test(e.message)) return true;
  const nested = [e.cause, e.originalError, ...(Array.isArray(e.errors) ? e.errors : [])];
  return nested.some((n) => isTopicMissing(n, depth + 1));
};
