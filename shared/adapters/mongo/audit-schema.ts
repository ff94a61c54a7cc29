/**
 * The audit collection and its indexes, declared once: the store uses them, the deploy step creates them
 * as the master, and the stack hashes them (a new index re-runs that step). No driver import, so the CDK
 * app can load it.
 */
export const AUDIT_COLLECTION = 'route_audit';

/**
 * The seed's indexes. Each time index ends in event_id so the (occurred_at, event_id) page order is
 * served by the index; the unique event_id index makes redelivered events no-ops.
 */
export const AUDIT_INDEXES = [
  {
    name: 'route_occurred_at',
    key: {
      'route.tenant': 1,
      'route.service': 1,
      'route.env': 1,
      'route.version': 1,
      occurred_at: -1,
      event_id: -1,
    },
  },
  { name: 'occurred_at', key: { occurred_at: -1, event_id: -1 } },
  // recent / action / time-range queries of tokens that cover some tenants (issue 6).
  { name: 'tenant_occurred_at', key: { 'route.tenant': 1, occurred_at: -1, event_id: -1 } },
  { name: 'action_occurred_at', key: { action: 1, occurred_at: -1, event_id: -1 } },
  { name: 'event_id_unique', key: { event_id: 1 }, unique: true },
] as const;
