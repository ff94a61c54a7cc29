import type { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildTrafficManager, createApp, type TrafficManagerStacks } from '#infra/build';
import { type StageName, stages } from '#infra/config/stages';
import { testOutdir } from '#test/support/cdk-outdir';

export interface SynthesizedStage {
  readonly app: App;
  readonly stacks: TrafficManagerStacks;
  readonly template: (stack: Stack) => Template;
}

const cache = new Map<StageName, SynthesizedStage>();

/**
 * Builds every stack of a stage on the fast path (no bundling: `aws:cdk:bundling-stacks` empty; no
 * built-in CloudFormation template validation, which cloudformation.test.ts runs once per stage)
 * and memoizes it per test file; templates are synthesized on first use.
 */
export const synthStage = (name: StageName): SynthesizedStage => {
  const hit = cache.get(name);
  if (hit) return hit;
  const app = createApp({
    outdir: testOutdir(),
    builtinCloudFormationValidation: false,
    context: { 'aws:cdk:bundling-stacks': [] },
  });
  const stacks = buildTrafficManager(app, stages[name]);
  const templates = new Map<Stack, Template>();
  const synthesized: SynthesizedStage = {
    app,
    stacks,
    template: (stack) => {
      let t = templates.get(stack);
      if (!t) {
        t = Template.fromStack(stack);
        templates.set(stack, t);
      }
      return t;
    },
  };
  cache.set(name, synthesized);
  return synthesized;
};

type CfnResource = { Type: string; Properties?: Record<string, unknown>; [key: string]: unknown };

/** Resources of one type as [logicalId, resource] pairs. */
export const resourcesOf = (template: Template, type: string): [string, CfnResource][] =>
  Object.entries(template.findResources(type) as Record<string, CfnResource>);

/** The logical id CloudFormation uses for a construct's default child. */
export const logicalIdOf = (construct: { node: { defaultChild?: unknown } }, stack: Stack): string =>
  stack.getLogicalId(construct.node.defaultChild as Parameters<Stack['getLogicalId']>[0]);
