import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: entry paths in functions/route-table.ts are relative to it. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

export const fromRoot = (...parts: string[]): string => join(REPO_ROOT, ...parts);

export const MIGRATIONS_DIR = 'migrations';
export const migrationsDir = (): string => fromRoot(MIGRATIONS_DIR);

/**
 * The Amazon RDS/DocumentDB CA bundle (global-bundle.pem). DocumentDB certificates chain to this CA,
 * which Node does not trust by default; the functions that talk to DocumentDB get it copied to
 * /var/task/global-bundle.pem. RDS Proxy, ElastiCache and MSK use public (Amazon Trust Services)
 * certificates that Node already trusts.
 */
export const CA_BUNDLE_SOURCE = 'infra/assets/global-bundle.pem';
export const CA_BUNDLE_LAMBDA_PATH = '/var/task/global-bundle.pem';

export const caBundlePresent = (): boolean => existsSync(fromRoot(CA_BUNDLE_SOURCE));
