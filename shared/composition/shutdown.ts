import { closeAuditClients } from './audit-clients.ts';
import { closeCacheClients } from './cache-clients.ts';
import { closeClients } from './clients.ts';
import { closeEventClients } from './event-clients.ts';
import { closeFailureClients } from './failure-clients.ts';
import { closeIdempotencyClients } from './idempotency-clients.ts';
import { closePublishClients } from './publish-clients.ts';
import { closeRouteCacheClients } from './route-cache-clients.ts';
import { closeTokenClients } from './token-clients.ts';

/** Closes every pooled client a process opened (the local runner's shutdown, benchmarks, tests). */
export const closeAllClients = async (): Promise<void> => {
  await Promise.allSettled([closeEventClients(), closePublishClients(), closeAuditClients()]);
  closeTokenClients();
  closeIdempotencyClients();
  closeRouteCacheClients();
  closeFailureClients();
  await Promise.allSettled([closeCacheClients(), closeClients()]);
};
