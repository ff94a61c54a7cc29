import { getConfig } from '#shared/config/config';
import type { ReadinessProbe } from '#shared/use-cases/check-readiness.use-case';
import { getAuditStore } from './audit-clients.ts';

/**
 * Informational readiness of the audit store, which the local runner adds (the health function has no
 * audit store binding; Kafka is one of readiness-clients.ts's own probes): events wait while it is away.
 */
export const eventReadinessProbes = (): ReadinessProbe[] => [
  {
    name: 'audit_store',
    critical: false,
    check: async () => {
      await getAuditStore().ping();
      return { database: getConfig().mongo.database };
    },
  },
];
