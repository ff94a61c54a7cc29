import { getConfig } from '#shared/config/config';
import type { ReadinessProbe } from '#shared/use-cases/check-readiness.use-case';
import { getAuditStore } from './audit-clients.ts';
import { pingKafka } from './publish-clients.ts';

/** Informational readiness of the event side: events wait in the outbox while either is away. */
export const eventReadinessProbes = (): ReadinessProbe[] => [
  { name: 'kafka', critical: false, check: () => pingKafka() },
  {
    name: 'audit_store',
    critical: false,
    check: async () => {
      await getAuditStore().ping();
      return { database: getConfig().mongo.database };
    },
  },
];
