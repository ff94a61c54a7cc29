/**
 * What the process hosting the handlers knows about itself. In Lambda the bulkhead is each function's
 * reserved concurrency and draining is the platform's job; the local runner registers a provider.
 */
export interface HostStatus {
  readonly draining: boolean;
  readonly bulkheads: Record<string, unknown>;
}

let provider: () => HostStatus = () => ({
  draining: false,
  bulkheads: { mode: 'lambda reserved concurrency per function (see infra)' },
});

export const setHostStatusProvider = (p: () => HostStatus): void => {
  provider = p;
};

export const hostStatus = (): HostStatus => provider();
