import { addNagChecks, buildTrafficManager, createApp } from '#infra/build';
import { stageFromContext, withDeployContext } from '#infra/config/stages';

// `npx cdk synth|deploy --all -c stage=dev|prod|local [-c alarmEmail=…] [-c region=…]`; `-c nag=false`
// skips the cdk-nag validation.
const app = createApp();
const stage = withDeployContext(stageFromContext(app.node.tryGetContext('stage')), (key) =>
  app.node.tryGetContext(key),
);
buildTrafficManager(app, stage);
const nag = app.node.tryGetContext('nag');
if (nag !== false && nag !== 'false') addNagChecks(app);
app.synth();
