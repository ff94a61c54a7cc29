import { Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { STAGE_NAMES } from '#infra/config/stages';
import { synthStage } from './synth.ts';

interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

/** cdk-nag acknowledgements (aws-cdk-lib records some of its own CloudFormation-Validate ones). */
const acknowledgementsIn = (root: IConstruct): Acknowledgement[] =>
  root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          path: c.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      )
      .filter((ack) => ack.id.startsWith('AwsSolutions-')),
  );

describe.each(STAGE_NAMES)('cdk-nag AwsSolutions on the %s stage', (stage) => {
  it('reports no unacknowledged error or warning', () => {
    const { app } = synthStage(stage);

    const report = new AwsSolutionsChecks().validateScope(app);

    const findings = report.violations.map(
      (v) => `${v.severity} ${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('acknowledges findings on resources, never on the app or a whole stack', () => {
    const { app } = synthStage(stage);

    const acks = acknowledgementsIn(app);

    expect(acks.length).toBeGreaterThan(0);
    const byPath = new Map(app.node.findAll().map((c) => [c.node.path, c]));
    for (const ack of acks) {
      expect(ack.path, `${ack.id} acknowledged on the app`).not.toBe('');
      expect(Stack.isStack(byPath.get(ack.path)), `${ack.id} acknowledged on stack ${ack.path}`).toBe(false);
    }
  });

  it('acknowledges only findings that occur (no stale acknowledgements)', () => {
    const { app } = synthStage(stage);
    // The same checks with acknowledgements ignored: every finding the stacks produce.
    const unfiltered = new AwsSolutionsChecks();
    Reflect.set(unfiltered, 'isAcknowledged', () => false);

    const findings = unfiltered
      .validateScope(app)
      .violations.flatMap((v) =>
        v.violatingResources.map((r) => ({ id: v.ruleName, path: r.constructPath ?? '' })),
      );

    for (const ack of acknowledgementsIn(app)) {
      const used = findings.some(
        (f) => f.id === ack.id && (f.path === ack.path || f.path.startsWith(`${ack.path}/`)),
      );
      expect(used, `${ack.id} on ${ack.path} matches no finding`).toBe(true);
    }
  });

  it('gives every acknowledgement a specific reason', () => {
    const { app } = synthStage(stage);

    for (const ack of acknowledgementsIn(app)) {
      expect(ack.id, ack.path).toMatch(/^AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
      expect(ack.reason.length, `${ack.path} ${ack.id}`).toBeGreaterThanOrEqual(30);
    }
  });
});
