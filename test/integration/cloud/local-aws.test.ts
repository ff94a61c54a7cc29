import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetParameterError } from '@aws-lambda-powertools/parameters/errors';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import {
  GetBootstrapBrokersCommand,
  KafkaClient,
  ListClustersV2Command,
  NotFoundException,
} from '@aws-sdk/client-kafka';
import {
  GetSecretValueCommand,
  ListSecretsCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  EmptyBatchRequest,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSecretField } from '#shared/adapters/aws/secrets';
import { SqsFailureDestination } from '#shared/adapters/failure/failure-destination.sqs';
import { resolveBrokers } from '#shared/adapters/kafka/kafka-client.kafka';
import { getConfig } from '#shared/config/config';
import type { FailedRecord } from '#shared/ports/failure-destination.port';
import { endpointEnvironment, type LocalAws, startLocalAws } from '../../../scripts/cloud/local-aws.ts';

const REGION = 'eu-west-1';
const DB_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:traffic-manager/db-AbC123';
const HASH_KEY_NAME = 'traffic-manager/token-hash-key';
const CLUSTER_ARN =
  'arn:aws:kafka:eu-west-1:123456789012:cluster/traffic-manager/0a1b2c3d-4e5f-6789-abcd-ef01-2';
const BROKERS = '127.0.0.1:19092,127.0.0.1:19093';

let aws: LocalAws;
let dir: string;
let deadLetterFile: string;
const logged: string[] = [];
const saved = new Map<string, string | undefined>();

const setEnv = (vars: Record<string, string | undefined>) => {
  for (const [name, value] of Object.entries(vars)) {
    if (!saved.has(name)) saved.set(name, process.env[name]);
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
};

const deadLetters = async (): Promise<Record<string, unknown>[]> =>
  (await readFile(deadLetterFile, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-aws-'));
  deadLetterFile = join(dir, 'dead-letters.jsonl');
  aws = await startLocalAws({
    secrets: {
      [DB_SECRET_ARN]: JSON.stringify({ username: 'app', password: 'pw-1' }),
      [HASH_KEY_NAME]: 'plain-hash-key',
    },
    kafkaClusters: { [CLUSTER_ARN]: { bootstrapBrokers: BROKERS } },
    deadLetterFile,
    log: (message) => logged.push(message),
  });
  // Exactly what a local function gets: no endpoint in code, only the service-specific variables.
  setEnv({
    ...endpointEnvironment(aws.endpoint),
    AWS_ENDPOINT_URL: undefined,
    AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: undefined,
    AWS_PROFILE: undefined,
    AWS_SESSION_TOKEN: undefined,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  });
});

afterAll(async () => {
  await aws?.stop();
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await rm(dir, { recursive: true, force: true });
});

describe('local AWS: Secrets Manager', () => {
  it('returns a secret by ARN, name and partial ARN', async () => {
    const client = new SecretsManagerClient({});

    const byArn = await client.send(new GetSecretValueCommand({ SecretId: DB_SECRET_ARN }));
    const byName = await client.send(new GetSecretValueCommand({ SecretId: 'traffic-manager/db' }));
    const byPartialArn = await client.send(
      new GetSecretValueCommand({ SecretId: DB_SECRET_ARN.replace(/-AbC123$/, '') }),
    );

    expect(byArn).toMatchObject({
      ARN: DB_SECRET_ARN,
      Name: 'traffic-manager/db',
      VersionStages: ['AWSCURRENT'],
    });
    expect(JSON.parse(byArn.SecretString ?? '')).toEqual({ username: 'app', password: 'pw-1' });
    expect(byArn.CreatedDate).toBeInstanceOf(Date);
    expect(byName.SecretString).toBe(byArn.SecretString);
    expect(byPartialArn.ARN).toBe(DB_SECRET_ARN);
    client.destroy();
  });

  it('serves powertools getSecret and the project secret adapter', async () => {
    expect(await getSecret<string>(HASH_KEY_NAME)).toBe('plain-hash-key');
    expect(await readSecretField(DB_SECRET_ARN, 'password')).toBe('pw-1');
    expect(await readSecretField(HASH_KEY_NAME, 'ignored')).toBe('plain-hash-key');
  });

  it('answers an unknown secret with ResourceNotFoundException', async () => {
    const client = new SecretsManagerClient({});

    const raw = client.send(new GetSecretValueCommand({ SecretId: 'no-such-secret' }));
    const viaAdapter = readSecretField(
      'arn:aws:secretsmanager:eu-west-1:1:secret:missing-XyZ789',
      'pw',
    ).catch((e: unknown) => e);

    await expect(raw).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(raw).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 } });
    const error = await viaAdapter;
    expect(error).toBeInstanceOf(GetParameterError);
    expect((error as Error).cause).toBeInstanceOf(ResourceNotFoundException);
    client.destroy();
  });
});

describe('local AWS: MSK', () => {
  it('returns the configured brokers as every bootstrap broker string', async () => {
    const client = new KafkaClient({});

    const out = await client.send(new GetBootstrapBrokersCommand({ ClusterArn: CLUSTER_ARN }));

    expect(out).toMatchObject({
      BootstrapBrokerString: BROKERS,
      BootstrapBrokerStringTls: BROKERS,
      BootstrapBrokerStringSaslIam: BROKERS,
    });
    client.destroy();
  });

  it('serves the project broker lookup for IAM and TLS clusters', async () => {
    const kafka = { ...getConfig().kafka, brokers: undefined, mskClusterArn: CLUSTER_ARN, region: REGION };

    expect(await resolveBrokers({ ...kafka, auth: 'iam' })).toEqual(BROKERS.split(','));
    expect(await resolveBrokers({ ...kafka, auth: 'none' })).toEqual(BROKERS.split(','));
  });

  it('answers an unknown cluster with NotFoundException', async () => {
    const client = new KafkaClient({});

    const out = client.send(new GetBootstrapBrokersCommand({ ClusterArn: `${CLUSTER_ARN}-other` }));

    await expect(out).rejects.toBeInstanceOf(NotFoundException);
    client.destroy();
  });
});

describe('local AWS: SQS', () => {
  const record: FailedRecord = {
    consumer: 'audit',
    topic: 'route-events',
    partition: 3,
    offset: 42,
    timestamp: 1_700_000_000_000,
    key: 'team-a/payments/prod/v2',
    value: 'bm90IGpzb24=',
    headers: {},
    reason: 'value is not JSON',
  };

  it('accepts SendMessage with the MD5 the SDK checks and writes the dead-letter file', async () => {
    const client = new SQSClient({});
    const queueUrl = aws.queueUrl('send-message');

    const out = await client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: 'héllo ✓',
        MessageAttributes: { reason: { DataType: 'String', StringValue: 'bad json' } },
      }),
    );

    expect(out.MessageId).toBeTruthy();
    expect(aws.messages(queueUrl)).toEqual([
      expect.objectContaining({
        messageId: out.MessageId,
        body: 'héllo ✓',
        attributes: { reason: 'bad json' },
      }),
    ]);
    expect((await deadLetters()).filter((l) => l.queueUrl === queueUrl)).toEqual([
      { queueUrl, body: 'héllo ✓', attributes: { reason: 'bad json' }, receivedAt: expect.any(String) },
    ]);
    client.destroy();
  });

  it('receives poison records from the project failure destination as a batch', async () => {
    const queueUrl = aws.queueUrl('failures');
    const destination = new SqsFailureDestination(queueUrl, REGION);

    await destination.send([record, { ...record, offset: 43 }]);

    const bodies = aws.messages(queueUrl).map((m) => JSON.parse(m.body) as Record<string, unknown>);
    expect(bodies).toEqual([
      { kind: 'poison_record', ...record },
      { kind: 'poison_record', ...record, offset: 43 },
    ]);
    expect(aws.messages(queueUrl)[0]?.attributes).toEqual({ consumer: 'audit', reason: 'value is not JSON' });
    expect((await deadLetters()).filter((l) => l.queueUrl === queueUrl)).toHaveLength(2);
  });

  it('refuses an empty batch with the SQS error class', async () => {
    const client = new SQSClient({});

    const out = client.send(new SendMessageBatchCommand({ QueueUrl: aws.queueUrl('failures'), Entries: [] }));

    await expect(out).rejects.toBeInstanceOf(EmptyBatchRequest);
    client.destroy();
  });

  it('answers GetQueueUrl with a queue on the local endpoint', async () => {
    const client = new SQSClient({});

    const out = await client.send(new GetQueueUrlCommand({ QueueName: 'failures' }));

    expect(out.QueueUrl).toBe(aws.queueUrl('failures'));
    client.destroy();
  });
});

describe('local AWS: everything else', () => {
  it('refuses unsupported operations with a 400 that names them, and logs them', async () => {
    const secrets = new SecretsManagerClient({});
    const kafka = new KafkaClient({});
    const sqs = new SQSClient({});

    const results = await Promise.all([
      secrets.send(new ListSecretsCommand({})).catch((e: unknown) => e),
      kafka.send(new ListClustersV2Command({})).catch((e: unknown) => e),
      sqs.send(new ReceiveMessageCommand({ QueueUrl: aws.queueUrl('failures') })).catch((e: unknown) => e),
    ]);

    for (const error of results) {
      expect(error).toMatchObject({ name: 'UnknownOperationException', $metadata: { httpStatusCode: 400 } });
    }
    expect((results[0] as Error).message).toContain('secretsmanager.ListSecrets');
    expect((results[1] as Error).message).toContain('GET /api/v2/clusters');
    expect((results[2] as Error).message).toContain('AmazonSQS.ReceiveMessage');
    expect(logged.join('\n')).toContain('AmazonSQS.ReceiveMessage');
    secrets.destroy();
    kafka.destroy();
    sqs.destroy();
  });

  it('refuses an unsigned request', async () => {
    const response = await fetch(aws.endpoint, {
      method: 'POST',
      headers: {
        'x-amz-target': 'secretsmanager.GetSecretValue',
        'content-type': 'application/x-amz-json-1.1',
      },
      body: JSON.stringify({ SecretId: HASH_KEY_NAME }),
    });

    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ __type: 'MissingAuthenticationTokenException' });
  });
});
