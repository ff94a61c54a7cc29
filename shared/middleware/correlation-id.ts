import { randomUUID } from 'node:crypto';

/** Accepted correlation ids: bounded length and safe characters, so they can go into logs and headers. */
export const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export const CORRELATION_HEADER = 'x-correlation-id';

export const pickCorrelationId = (headers: Record<string, string | undefined> | null | undefined): string => {
  if (headers) {
    for (const [name, value] of Object.entries(headers)) {
      if (name.toLowerCase() === CORRELATION_HEADER && typeof value === 'string' && SAFE_ID.test(value)) {
        return value;
      }
    }
  }
  return randomUUID();
};
