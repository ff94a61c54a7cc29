import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addNagChecks, buildTrafficManager, createApp } from '#infra/build';
import { stages } from '#infra/config/stages';

interface ValidationReport {
  pluginReports: {
    pluginName: string;
    conclusion: string;
    violations: { ruleName: string; severity: string; description: string }[];
  }[];
}

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Synthesizes like `cdk synth` does (built-in CloudFormation template validation and cdk-nag as
 * validation plugins), bundling skipped: bundling.test.ts bundles dev for real.
 */
const synthLikeTheCli = (stage: 'prod' | 'localstack'): ValidationReport => {
  const outdir = mkdtempSync(join(tmpdir(), `tm-cfn-${stage}-`));
  outdirs.push(outdir);
  const app = createApp({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  buildTrafficManager(app, stages[stage]);
  addNagChecks(app);
  app.synth();
  return JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as ValidationReport;
};

describe.each(['prod', 'localstack'] as const)('synthesis of the %s stage as the CLI runs it', (stage) => {
  // Five templates through cfn-lint-style validation and cdk-nag (prod: 3 AZs, ~60 alarms): 30 s on 2 shared cores is not enough.
  it('passes CloudFormation template validation and cdk-nag', { timeout: 120_000 }, () => {
    const report = synthLikeTheCli(stage);

    const problems = report.pluginReports
      .flatMap((p) => p.violations.map((v) => ({ plugin: p.pluginName, ...v })))
      // The one annotation the stacks raise on purpose while infra/assets/global-bundle.pem is absent.
      .filter((v) => v.ruleName !== 'Annotation::traffic-manager:ca-bundle-missing')
      .map((v) => `${v.plugin} ${v.severity} ${v.ruleName}: ${v.description}`);
    expect(problems).toEqual([]);
    expect(report.pluginReports.every((p) => p.conclusion === 'success')).toBe(true);
  });
});
