// Synthesizes one stage with real bundling into a given folder: `tsx scripts/cloud/synth-app.ts <outdir> <stage>`.
// The same App, feature flags and stacks as `npx cdk synth` (infra/app.ts), cdk-nag included.
import { addNagChecks, buildTrafficManager, createApp } from '#infra/build';
import { stageFromContext } from '#infra/config/stages';

const [outdir, stageName] = process.argv.slice(2);
if (!outdir || !stageName) throw new Error('usage: synth-app.ts <outdir> <stage>');
const app = createApp({ outdir, context: { stage: stageName } });
buildTrafficManager(app, stageFromContext(stageName));
addNagChecks(app);
app.synth();
