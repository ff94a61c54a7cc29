import { getRecordAuditDeps } from '#shared/composition/audit-clients';
import { getFailureDestination } from '#shared/composition/failure-clients';
import { requireBindings } from '#shared/config/config';
import { mskHandler } from '#shared/middleware/msk-handler';
import { recordAudit } from '#shared/use-cases/record-audit.use-case';
import { functionManifest } from '../function-manifest.ts';

requireBindings(functionManifest.audit);

const deps = getRecordAuditDeps();

/** MSK `route-events` → one audit document per event in `route_audit` (redeliveries are no-ops). */
export const handler = mskHandler(
  { consumer: 'audit', failureDestination: getFailureDestination },
  async (events) => {
    await recordAudit(deps, events);
  },
);
