import { describe, expect, it } from 'vitest';
import { EmfMetrics } from '../../../scripts/cloud/emf-metrics.ts';

const emf = (metrics: Record<string, [string, number | number[]]>) =>
  `[fn] ${JSON.stringify({
    _aws: {
      Timestamp: 0,
      CloudWatchMetrics: [
        {
          Namespace: 'TrafficManager',
          Dimensions: [['service']],
          Metrics: Object.entries(metrics).map(([Name, [Unit]]) => ({ Name, Unit })),
        },
      ],
    },
    service: 'traffic-manager',
    ...Object.fromEntries(Object.entries(metrics).map(([name, [, value]]) => [name, value])),
  })}`;

describe('EMF lines as Prometheus text', () => {
  it('sums counts, summarizes latencies and keeps the last gauge value', () => {
    const m = new EmfMetrics();
    m.observe(emf({ ResolveRequests: ['Count', 1], ResolveLatency: ['Milliseconds', [2, 4]] }));
    m.observe(emf({ ResolveRequests: ['Count', 1], OutboxOldestAge: ['Seconds', 7] }));
    m.observe(emf({ OutboxOldestAge: ['Seconds', 3] }));
    const text = m.render();
    expect(text).toContain('resolve_requests_total 2');
    expect(text).toContain('resolve_latency_milliseconds_sum 6');
    expect(text).toContain('resolve_latency_milliseconds_count 2');
    expect(text).toContain('outbox_oldest_age_seconds 3');
  });

  it('ignores log lines that are not EMF documents', () => {
    const m = new EmfMetrics();
    m.observe('[fn] START RequestId: 1');
    m.observe('[fn] {"level":"INFO","message":"hello"}');
    m.observe('[fn] {"_aws": broken');
    expect(m.render()).toBe('\n');
  });
});
