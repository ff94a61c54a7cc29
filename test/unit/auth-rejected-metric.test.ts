import { describe, expect, it } from 'vitest';
import { UNAUTHORIZED_REASONS } from '#shared/domain/errors';
import { EMITTED_METRIC_NAMES, METRIC } from '#shared/observability/metric-names';
import { prometheusMetrics, prometheusRegistry } from '#shared/observability/metrics.prometheus';

describe('authorizer refusals in metrics (issue 16.7)', () => {
  it('counts refusals once, with no reason label: why a token failed is only logged', async () => {
    const metrics = prometheusMetrics();

    metrics.authRejected();
    metrics.authRejected();

    const text = await prometheusRegistry.metrics();
    expect(text).toMatch(/^auth_rejected_total 2$/m);
    expect(text).not.toMatch(/auth_rejected_total\{/);
    for (const reason of UNAUTHORIZED_REASONS) expect(text).not.toContain(`"${reason}"`);
  });

  it('emits one EMF name, AuthRejected, and none per reason', () => {
    expect(METRIC.authRejected).toBe('AuthRejected');
    expect(EMITTED_METRIC_NAMES.filter((n) => n.startsWith('AuthRejected'))).toEqual(['AuthRejected']);
  });
});
