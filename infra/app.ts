import { addNagChecks, buildTrafficManager, createApp } from '#infra/build';
import { stageFromContext } from '#infra/config/stages';

// `npx cdk synth|deploy --all -c stage=dev|prod|local`; `-c nag=false` skips the cdk-nag validation.
const app = createApp();
const stage = stageFromContext(app.node.tryGetContext('stage'));
buildTrafficManager(app, stage);
const nag = app.node.tryGetContext('nag');
if (nag !== false && nag !== 'false') addNagChecks(app);
app.synth();
