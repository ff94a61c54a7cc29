import { describe, expect, it } from 'vitest';
import { auditEventBody } from '#functions/audit/audit-query.schema';
import type { AuditRecord } from '#shared/ports/audit-store.port';

describe('auditEventBody', () => {
  it('returns no transport details: the Kafka topic, partition and offset stay in the stored document', () => {
    const record = {
      eventId: 'e-1',
      eventType: 'route_changed',
      action: 'created',
      route: { tenant: 't', service: 's', env: 'e', version: 'v' },
      url: 'https://a.example.com/',
      previousUrl: null,
      previousState: null,
      revision: 1,
      changedBy: 'ci',
      changedByTokenId: 'abcdefghijklmnop',
      correlationId: null,
      occurredAt: new Date('2026-01-01T00:00:00Z'),
      processedAt: new Date('2026-01-01T00:00:01Z'),
      metadata: { source: { topic: 'route-events', partition: 3, offset: 12345 } },
    } as unknown as AuditRecord;

    const body = JSON.stringify(auditEventBody(record));

    expect(body).not.toMatch(/metadata|partition|offset|route-events/);
    expect(JSON.parse(body)).toMatchObject({
      event_id: 'e-1',
      changed_by: 'ci',
      changed_by_token_id: 'abcdefghijklmnop',
      revision: 1,
    });
  });
});
