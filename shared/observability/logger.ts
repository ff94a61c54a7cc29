import { AsyncLocalStorage } from 'node:async_hooks';
import { Logger } from '@aws-lambda-powertools/logger';
import { getConfig } from '#shared/config/config';

interface RequestScope {
  readonly correlationId: string;
}

// The local runner serves many requests at once in one process, so the correlation id lives in
// async-local storage rather than in the logger's shared keys.
const scope = new AsyncLocalStorage<RequestScope>();

// Values under keys like these never reach a log line, whatever object is logged.
const SECRET_KEY = /pass(word)?|secret|token|authorization|cookie|api[-_]?key|credential/i;
export const redactSecrets = (key: string, value: unknown): unknown =>
  SECRET_KEY.test(key) && value !== null && value !== undefined && typeof value !== 'object'
    ? '[REDACTED]'
    : value;

const config = getConfig();
const base = new Logger({
  serviceName: config.serviceName,
  logLevel: config.logLevel,
  persistentKeys: { stage: config.stage },
  jsonReplacerFn: redactSecrets,
});

type Extra = Record<string, unknown> | Error;

const attrs = (extra: Extra | undefined): Record<string, unknown> => {
  const id = scope.getStore()?.correlationId;
  const fields = extra instanceof Error ? { error: extra } : (extra ?? {});
  return id ? { correlation_id: id, ...fields } : fields;
};

/** Structured JSON logger; every line written inside a request carries its correlation_id. */
export const logger = {
  debug: (msg: string, extra?: Extra) => base.debug(msg, attrs(extra)),
  info: (msg: string, extra?: Extra) => base.info(msg, attrs(extra)),
  warn: (msg: string, extra?: Extra) => base.warn(msg, attrs(extra)),
  error: (msg: string, extra?: Extra) => base.error(msg, attrs(extra)),
};

export const runWithCorrelationId = <T>(correlationId: string, fn: () => T): T =>
  scope.run({ correlationId }, fn);

export const currentCorrelationId = (): string | undefined => scope.getStore()?.correlationId;
