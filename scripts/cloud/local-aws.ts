import { createHash, randomUUID } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The three AWS control-plane calls our functions make, served locally on one HTTP endpoint in the wire
 * protocols the pinned SDK v3 clients speak: Secrets Manager `GetSecretValue` (AWS JSON 1.1), MSK
 * `GetBootstrapBrokers` (REST-JSON) and SQS `SendMessage`/`SendMessageBatch`/`GetQueueUrl` (AWS JSON 1.0).
 * Functions reach it through `endpointEnvironment()`; requests must be SigV4-signed but are not verified.
 */
export interface LocalAwsOptions {
  readonly host?: string;
  /** 0 (the default) lets the OS choose. */
  readonly port?: number;
  /**
   * SecretString by secret ARN or name; an ARN key also answers to its name and its partial ARN. Read on
   * every call, so a caller that changes a value (a rotation) is served the new one.
   */
  readonly secrets: Readonly<Record<string, string>>;
  /** By cluster ARN. Locally the brokers are plaintext whatever broker string the function picks. */
  readonly kafkaClusters: Readonly<Record<string, { readonly bootstrapBrokers: string }>>;
  /** Every SQS message is appended here as a JSON line, so a person can read what failed. */
  readonly deadLetterFile?: string;
  /** Where unsupported operations are reported; console.warn by default. */
  readonly log?: (message: string) => void;
}

export interface LocalSqsMessage {
  readonly messageId: string;
  readonly queueUrl: string;
  readonly body: string;
  /** Message attributes by name: string values as sent, binary values base64. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly receivedAt: string;
}

export interface LocalAws {
  /** `http://host:port`, for `endpointEnvironment()`. */
  readonly endpoint: string;
  /** GetSecretValue calls answered so far, by the SecretId asked for. */
  secretReads(secretId: string): number;
  /** Messages sent to this queue URL (exactly as the caller gave it), oldest first. */
  messages(queueUrl: string): readonly LocalSqsMessage[];
  /**
   * A queue URL on this endpoint. Functions must be given one of these: the SQS client sends to the
   * QueueUrl's own host (useQueueUrlAsEndpoint), so a real AWS queue URL bypasses AWS_ENDPOINT_URL_SQS.
   */
  queueUrl(name: string): string;
  stop(): Promise<void>;
}

/** The SDK's service-specific endpoint variables (AWS_ENDPOINT_URL_ + serviceId upper-cased, `_` for spaces). */
export const endpointEnvironment = (endpoint: string): Record<string, string> => ({
  AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
  AWS_ENDPOINT_URL_KAFKA: endpoint,
  AWS_ENDPOINT_URL_SQS: endpoint,
});

const LOCAL_ACCOUNT = '000000000000';
const MAX_BODY_BYTES = 1024 * 1024;
const SQS_BATCH_MAX = 10;

type Protocol = 'json1.0' | 'json1.1' | 'rest-json';
const CONTENT_TYPES: Record<Protocol, string> = {
  'json1.0': 'application/x-amz-json-1.0',
  'json1.1': 'application/x-amz-json-1.1',
  'rest-json': 'application/json',
};

/** An AWS error response: the SDK maps `code` to the same exception class it raises against AWS. */
class AwsError extends Error {
  override readonly name = 'AwsError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Json = Record<string, unknown>;
interface Call {
  readonly region: string;
  readonly input: Json;
}

const md5Hex = (data: string | Buffer): string => createHash('md5').update(data).digest('hex');

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES)
        reject(new AwsError(413, 'RequestEntityTooLarge', 'request body over 1 MiB'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

const parseInput = (raw: string): Json => {
  if (raw.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(raw);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Json;
  } catch {
    // answered below, like a malformed body in AWS
  }
  throw new AwsError(400, 'SerializationException', 'request body is not a JSON object');
};

const SIGV4 = /^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/([^/]+)\/[^/]+\/aws4_request,/;

/** Unverified, but present: a request without one would be refused by AWS, so a local success would lie. */
const signedRegion = (req: IncomingMessage): string => {
  const region = SIGV4.exec(req.headers.authorization ?? '')?.[1];
  if (!region) throw new AwsError(403, 'MissingAuthenticationTokenException', 'request is not SigV4-signed');
  return region;
};

const text = (input: Json, field: string): string | undefined => {
  const value = input[field];
  return typeof value === 'string' ? value : undefined;
};

const required = (input: Json, field: string, code: string): string => {
  const value = text(input, field);
  if (value === undefined || value === '') throw new AwsError(400, code, `${field} is required`);
  return value;
};

// ---- Secrets Manager

// Secrets Manager appends '-' and six random characters to a secret's name in its ARN.
const ARN_SUFFIX = /-[A-Za-z0-9]{6}$/;
const isArn = (id: string): boolean => id.startsWith('arn:');
const nameOf = (key: string): string =>
  isArn(key) ? key.slice(key.indexOf(':secret:') + ':secret:'.length).replace(ARN_SUFFIX, '') : key;

const findSecret = (secrets: LocalAwsOptions['secrets'], id: string): [string, string] | undefined =>
  Object.entries(secrets).find(
    ([key]) => key === id || nameOf(key) === id || (isArn(key) && key.replace(ARN_SUFFIX, '') === id),
  );

const getSecretValue = (secrets: LocalAwsOptions['secrets'], startedAt: number, call: Call): Json => {
  const id = required(call.input, 'SecretId', 'InvalidParameterException');
  const found = findSecret(secrets, id);
  if (!found) {
    throw new AwsError(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
  }
  const [key, value] = found;
  const name = nameOf(key);
  const versionHash = md5Hex(value);
  return {
    ARN: isArn(key)
      ? key
      : `arn:aws:secretsmanager:${call.region}:${LOCAL_ACCOUNT}:secret:${name}-${md5Hex(name).slice(0, 6)}`,
    Name: name,
    // Stable per value, so a changed secret looks like a new version.
    VersionId: [0, 8, 12, 16, 20].map((at, i, all) => versionHash.slice(at, all[i + 1] ?? 32)).join('-'),
    SecretString: value,
    VersionStages: ['AWSCURRENT'],
    CreatedDate: startedAt / 1000,
  };
};

// ---- MSK

const BOOTSTRAP_BROKERS = /^\/v1\/clusters\/([^/]+)\/bootstrap-brokers$/;

const getBootstrapBrokers = (clusters: LocalAwsOptions['kafkaClusters'], clusterArn: string): Json => {
  const cluster = clusters[clusterArn];
  if (!cluster) throw new AwsError(404, 'NotFoundException', `cluster ${clusterArn} does not exist`);
  // One plaintext listener answers for every flavour, so the function's choice (IAM or TLS) resolves.
  const brokers = cluster.bootstrapBrokers;
  return {
    bootstrapBrokerString: brokers,
    bootstrapBrokerStringTls: brokers,
    bootstrapBrokerStringSaslIam: brokers,
  };
};

// ---- SQS

interface SqsEntry {
  readonly MessageBody: string;
  readonly MessageAttributes: Json;
}

const readableAttributes = (attributes: Json): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(attributes)) {
    const value = (raw ?? {}) as Json;
    out[name] = text(value, 'StringValue') ?? text(value, 'BinaryValue') ?? '';
  }
  return out;
};

const sqsEntry = (input: Json): SqsEntry => {
  const attributes = input.MessageAttributes;
  return {
    MessageBody: required(input, 'MessageBody', 'MissingParameter'),
    MessageAttributes: attributes !== null && typeof attributes === 'object' ? (attributes as Json) : {},
  };
};

const sqsBatchEntries = (input: Json): Json[] => {
  const entries = Array.isArray(input.Entries) ? (input.Entries as Json[]) : [];
  if (entries.length === 0) throw new AwsError(400, 'EmptyBatchRequest', 'the batch has no entries');
  if (entries.length > SQS_BATCH_MAX) {
    throw new AwsError(400, 'TooManyEntriesInBatchRequest', `a batch holds at most ${SQS_BATCH_MAX}`);
  }
  if (new Set(entries.map((e) => e.Id)).size !== entries.length) {
    throw new AwsError(400, 'BatchEntryIdsNotDistinct', 'batch entry ids repeat');
  }
  return entries;
};

const respond = (res: ServerResponse, status: number, protocol: Protocol, body: Json, code?: string) => {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': CONTENT_TYPES[protocol],
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': randomUUID(),
    ...(code ? { 'x-amzn-errortype': code } : {}),
  });
  res.end(payload);
};

export const startLocalAws = async (options: LocalAwsOptions): Promise<LocalAws> => {
  const log = options.log ?? ((message: string) => console.warn(`[local-aws] ${message}`));
  const startedAt = Date.now();
  const queues = new Map<string, LocalSqsMessage[]>();
  const secretReads = new Map<string, number>();
  // Appends are chained so JSON lines never interleave and stop() can wait for the last one.
  let appended: Promise<void> = Promise.resolve();
  let endpoint = '';
  const queueUrlFor = (name: string, account = LOCAL_ACCOUNT) =>
    `${endpoint}/${account}/${encodeURIComponent(name)}`;

  const enqueue = async (queueUrl: string, entry: SqsEntry): Promise<LocalSqsMessage> => {
    const message: LocalSqsMessage = {
      messageId: randomUUID(),
      queueUrl,
      body: entry.MessageBody,
      attributes: readableAttributes(entry.MessageAttributes),
      receivedAt: new Date().toISOString(),
    };
    const queue = queues.get(queueUrl) ?? [];
    queues.set(queueUrl, queue);
    queue.push(message);
    const file = options.deadLetterFile;
    if (file) {
      const { queueUrl: q, body, attributes, receivedAt } = message;
      const line = `${JSON.stringify({ queueUrl: q, body, attributes, receivedAt })}\n`;
      const written = appended.then(() => appendFile(file, line));
      appended = written.catch(() => undefined);
      // Answered only once written (a caller told "sent" can read it); a failed write fails this send.
      await written;
    }
    return message;
  };

  const sent = (message: LocalSqsMessage): Json => ({
    MessageId: message.messageId,
    // The SDK checks this against its own MD5 of the body and fails the call on a mismatch.
    MD5OfMessageBody: md5Hex(message.body),
  });

  const sqs = async (operation: string, call: Call): Promise<Json | undefined> => {
    switch (operation) {
      case 'SendMessage': {
        const queueUrl = required(call.input, 'QueueUrl', 'MissingParameter');
        return sent(await enqueue(queueUrl, sqsEntry(call.input)));
      }
      case 'SendMessageBatch': {
        const queueUrl = required(call.input, 'QueueUrl', 'MissingParameter');
        const Successful: Json[] = [];
        // Every entry is checked before any is kept, so a refused batch leaves nothing behind.
        const entries = sqsBatchEntries(call.input).map((entry) => ({
          id: entry.Id,
          entry: sqsEntry(entry),
        }));
        for (const { id, entry } of entries) {
          Successful.push({ Id: id, ...sent(await enqueue(queueUrl, entry)) });
        }
        return { Successful, Failed: [] };
      }
      case 'GetQueueUrl': {
        const name = required(call.input, 'QueueName', 'MissingParameter');
        const account = text(call.input, 'QueueOwnerAWSAccountId') ?? LOCAL_ACCOUNT;
        return { QueueUrl: queueUrlFor(name, account) };
      }
      default:
        return undefined;
    }
  };

  const unsupported = (what: string): AwsError => {
    log(`unsupported operation ${what}: only GetSecretValue, GetBootstrapBrokers and SQS sends are served`);
    return new AwsError(400, 'UnknownOperationException', `local AWS does not support ${what}`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const target = req.headers['x-amz-target'];
    const [service, operation = ''] = typeof target === 'string' ? target.split('.') : [];
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    const brokersPath = BOOTSTRAP_BROKERS.exec(path);
    const protocol: Protocol =
      service === 'AmazonSQS' ? 'json1.0' : service === 'secretsmanager' ? 'json1.1' : 'rest-json';
    try {
      const raw = await readBody(req);
      const call: Call = { region: signedRegion(req), input: {} };
      let output: Json | undefined;
      if (req.method === 'POST' && service === 'secretsmanager' && operation === 'GetSecretValue') {
        const input = parseInput(raw);
        output = getSecretValue(options.secrets, startedAt, { ...call, input });
        const id = String(input.SecretId);
        secretReads.set(id, (secretReads.get(id) ?? 0) + 1);
      } else if (req.method === 'POST' && service === 'AmazonSQS') {
        output = await sqs(operation, { ...call, input: parseInput(raw) });
      } else if (req.method === 'GET' && brokersPath?.[1]) {
        output = getBootstrapBrokers(options.kafkaClusters, decodeURIComponent(brokersPath[1]));
      }
      if (!output) {
        // The SQS query protocol of older SDKs names its action in the form body.
        const action = /(?:^|&)Action=(\w+)/.exec(raw)?.[1];
        throw unsupported(
          target ? `${target}` : action ? `query-protocol ${action}` : `${req.method} ${path}`,
        );
      }
      respond(res, 200, protocol, output);
    } catch (err) {
      const error =
        err instanceof AwsError
          ? err
          : new AwsError(500, 'InternalFailure', `local AWS failed: ${String(err)}`);
      if (error.status >= 500) log(error.message);
      // SQS names its errors by shape id; the SDK strips the namespace either way.
      const code = protocol === 'json1.0' ? `com.amazonaws.sqs#${error.code}` : error.code;
      respond(res, error.status, protocol, { __type: code, message: error.message }, error.code);
    }
  };

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    endpoint,
    secretReads: (secretId) => secretReads.get(secretId) ?? 0,
    messages: (queueUrl) => [...(queues.get(queueUrl) ?? [])],
    queueUrl: (name) => queueUrlFor(name),
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Functions keep SDK connections alive; without this close() waits for them to time out.
      server.closeAllConnections();
      await closed;
      await appended;
    },
  };
};
