import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEmfMetrics } from '#shared/observability/metrics';

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

const flushLines = (emit: (m: ReturnType<typeof createEmfMetrics>) => void): Record<string, any>[] => {
  const out: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  const metrics = createEmfMetrics('TrafficManager', 'traffic-manager');
  emit(metrics);
  metrics.flush();
  return out
    .join('')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
};

describe('EMF metrics (Lambda)', () => {
  it('records a cold start when the container starts, not on later invocations', () => {
    vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand'); // as Lambda sets it
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const metrics = createEmfMetrics('TrafficManager', 'traffic-manager'); // one per container
    metrics.flush();
    expect(lines.join('')).toContain('"ColdStart":1');
    lines.length = 0;
    metrics.resolve('hit', 0.001);
    metrics.flush();
    expect(lines.join('')).not.toContain('ColdStart');
  });

  it('writes CloudWatch EMF in namespace TrafficManager with the service as the only dimension', () => {
    const lines = flushLines((m) => {
      m.resolve('hit', 0.0012);
      m.write('upsert', true, 0.01);
    });
    const emf = lines.find((l) => l.ResolveRequests !== undefined)!;
    const directive = emf._aws.CloudWatchMetrics[0];
    expect(directive.Namespace).toBe('TrafficManager');
    expect(directive.Dimensions).toEqual([['service']]);
    expect(emf).toMatchObject({
      service: 'traffic-manager',
      ResolveRequests: 1,
      ResolveCacheHit: 1,
      WriteSuccess: 1,
    });
    expect(emf.ResolveLatency).toBeCloseTo(1.2);
  });
});
