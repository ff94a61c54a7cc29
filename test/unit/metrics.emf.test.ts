import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEPENDENCIES, RATE_LIMIT_SCOPES } from '#shared/domain/errors';
import {
  CONSUMER_NAMES,
  EMITTED_METRIC_NAMES,
  METRICS_NAMESPACE,
  RESOLVE_OUTCOMES,
  SPLIT_CHOICES,
  SPLIT_SLOTS,
  WRITE_OPERATIONS,
} from '#shared/observability/metric-names';
import { type AppMetrics, createEmfMetrics } from '#shared/observability/metrics';

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

/** An EMF log line: the directive, and the values under the metric and dimension names. */
interface EmfLine {
  readonly _aws: {
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: string[][];
      readonly Metrics: readonly { readonly Name: string }[];
    }[];
  };
  readonly [key: string]: unknown;
}

const flushLines = (emit: (m: AppMetrics) => void): EmfLine[] => {
  const out: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  const metrics = createEmfMetrics(METRICS_NAMESPACE, 'traffic-manager');
  emit(metrics);
  metrics.flush();
  return out
    .join('')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l): EmfLine => JSON.parse(l));
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
    const directive = emf._aws.CloudWatchMetrics[0]!;
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

/** Every AppMetrics method, called with every value of its enums (a new method fails to compile here). */
const everyCall: { readonly [K in keyof AppMetrics]: (m: AppMetrics) => void } = {
  resolve: (m) => {
    for (const outcome of RESOLVE_OUTCOMES) m.resolve(outcome, 0.002);
  },
  write: (m) => {
    for (const operation of WRITE_OPERATIONS) for (const ok of [true, false]) m.write(operation, ok, 0.01);
  },
  dependencyError: (m) => {
    for (const dependency of DEPENDENCIES) m.dependencyError(dependency);
  },
  eventsPublished: (m) => m.eventsPublished(3),
  eventsPublishFailed: (m) => m.eventsPublishFailed(1),
  outboxBacklog: (m) => m.outboxBacklog(7, 42),
  consumerBatch: (m) => {
    for (const consumer of CONSUMER_NAMES) m.consumerBatch(consumer);
  },
  consumerRetry: (m) => {
    for (const consumer of CONSUMER_NAMES) m.consumerRetry(consumer);
  },
  consumerFailedRecords: (m) => {
    for (const consumer of CONSUMER_NAMES) m.consumerFailedRecords(consumer, 2);
  },
  eventPropagation: (m) => {
    for (const consumer of CONSUMER_NAMES) m.eventPropagation(consumer, 0.2);
  },
  rateLimited: (m) => {
    for (const scope of RATE_LIMIT_SCOPES) m.rateLimited(scope);
  },
  rateLimiterError: (m) => m.rateLimiterError(),
  authRejected: (m) => m.authRejected(),
  splitResolve: (m) => {
    for (let slot = 0; slot < SPLIT_SLOTS.length; slot++)
      for (const c of SPLIT_CHOICES) m.splitResolve(slot, c);
  },
  splitChanged: (m) => m.splitChanged(),
  splitPropagation: (m) => {
    for (const consumer of CONSUMER_NAMES) m.splitPropagation(consumer, 0.2);
  },
  databaseCredentialsRefreshed: (m) => m.databaseCredentialsRefreshed(),
  flush: () => {}, // flushLines flushes
};

/** The names each EMF line declares, with its namespace, dimension sets and value. */
const declared = (lines: readonly EmfLine[]) =>
  lines.flatMap((line) =>
    line._aws.CloudWatchMetrics.flatMap(({ Namespace, Dimensions, Metrics }) =>
      Metrics.map(({ Name }) => ({
        name: Name,
        namespace: Namespace,
        dimensions: Dimensions,
        value: line[Name],
      })),
    ),
  );

describe('EMF metric names (metric-names.ts)', () => {
  it('every method with every enum value emits only listed names, each in the namespace with service alone', () => {
    vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand'); // so the cold start is emitted too
    for (const [method, call] of Object.entries(everyCall)) {
      for (const { name, namespace, dimensions, value } of declared(flushLines(call))) {
        expect(EMITTED_METRIC_NAMES, `${method} emitted ${name}`).toContain(name);
        expect(namespace, name).toBe(METRICS_NAMESPACE);
        expect(dimensions, name).toEqual([['service']]);
        expect(value, name).toBeDefined();
      }
    }
  });

  it('lists no name the emitter never writes', () => {
    vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
    const emitted = new Set(
      declared(
        flushLines((m) => {
          for (const call of Object.values(everyCall)) call(m);
        }),
      ).map(({ name }) => name),
    );

    expect([...emitted].sort()).toEqual([...EMITTED_METRIC_NAMES].sort());
    expect(new Set(EMITTED_METRIC_NAMES).size).toBe(EMITTED_METRIC_NAMES.length);
  });
});
