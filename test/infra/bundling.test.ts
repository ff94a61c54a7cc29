import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OPENAPI_PACKAGE_FILE, OPENAPI_PATH } from '#functions/openapi/paths';
import { addNagChecks, buildTrafficManager, createApp } from '#infra/build';
import type { AppFunctionId } from '#infra/config/stages';
import { stages } from '#infra/config/stages';
import { fromRoot, migrationsDir } from '#infra/paths';
import { logicalIdOf } from './synth.ts';

const outdir = mkdtempSync(join(tmpdir(), 'tm-bundle-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('the dev stage, bundled for real', () => {
  it('bundles every function with esbuild into an ESM package with source maps', { timeout: 180_000 }, () => {
    // The one test that runs esbuild: everything else skips bundling.
    const app = createApp({ outdir });
    const { stateless } = buildTrafficManager(app, stages.dev);
    addNagChecks(app);
    const assembly = app.synth();

    const template = assembly.getStackByName(stateless.stackName).template as {
      Resources: Record<string, { Properties: { Code?: { S3Key?: string } } }>;
    };
    const functions = Object.entries(stateless.functions).flatMap(([id, fn]) =>
      fn ? [{ id: id as AppFunctionId, fn }] : [],
    );
    expect(functions.length).toBeGreaterThanOrEqual(11);
    for (const { id, fn } of functions) {
      const key = template.Resources[logicalIdOf(fn.fn, stateless)]?.Properties.Code?.S3Key ?? '';
      const assetDir = join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
      const files = readdirSync(assetDir);
      expect(files, id).toContain('index.mjs');
      expect(files, id).toContain('index.mjs.map');
      const code = readFileSync(join(assetDir, 'index.mjs'), 'utf8');
      expect(code.startsWith("import { createRequire } from 'module';"), id).toBe(true);
      // The AWS SDK v3 comes from the runtime, never from the bundle.
      expect(code, id).not.toContain('node_modules/@aws-sdk/');
      // Nor the local runner's Prometheus client (a stub instead), nor whatwg-url (Node's URL): infra/bundling.ts.
      const sources = (
        JSON.parse(readFileSync(join(assetDir, 'index.mjs.map'), 'utf8')) as { sources: string[] }
      ).sources;
      expect(
        sources.some((f) => f.includes('node_modules/@aws-lambda-powertools/logger/')),
        id,
      ).toBe(true);
      for (const left of ['prom-client', 'whatwg-url', 'tr46', '@opentelemetry/api']) {
        expect(
          sources.filter((f) => f.includes(`node_modules/${left}/`)),
          `${id} bundles ${left}`,
        ).toEqual([]);
      }
      // Nor the Prometheus backend itself (a stub instead), nor the OpenAPI document (a file beside the bundle).
      expect(
        sources.filter((f) => /shared\/observability\/metrics\.prometheus\.ts$|openapi\.json$/.test(f)),
        id,
      ).toEqual([]);
      if (id === 'health') {
        expect(readFileSync(join(assetDir, OPENAPI_PACKAGE_FILE), 'utf8')).toBe(
          readFileSync(fromRoot(OPENAPI_PATH), 'utf8'),
        );
      }
      if (id === 'auditQuery') {
        expect(sources.some((f) => f.includes('shared/platform/whatwg-url.node.ts'))).toBe(true);
      }
      if (id === 'migrate') {
        const bundled = readdirSync(join(assetDir, 'migrations')).sort();
        expect(bundled).toEqual(readdirSync(migrationsDir()).sort());
      }
    }
    expect(existsSync(join(outdir, 'manifest.json'))).toBe(true);
  });
});
