/** Secrets are cached for five minutes per container, so a rotated value is picked up without a redeploy. */
const MAX_AGE_SECONDS = 300;

/** A Secrets Manager secret's `field` (JSON secrets) or its whole value (plain-string secrets). */
export const readSecretField = async (arn: string, field: string): Promise<string> => {
  // Loaded on first use: deployments without secrets (local, tests) never pay for the SDK import.
  const { getSecret } = await import('@aws-lambda-powertools/parameters/secrets');
  const raw = await getSecret<string>(arn, { maxAge: MAX_AGE_SECONDS });
  if (typeof raw !== 'string') throw new Error(`secret ${arn} has no string value`);
  if (!raw.trimStart().startsWith('{')) return raw;
  const value = (JSON.parse(raw) as Record<string, unknown>)[field];
  if (typeof value !== 'string') throw new Error(`secret ${arn} has no "${field}" field`);
  return value;
};
