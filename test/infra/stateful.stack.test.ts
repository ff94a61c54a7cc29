import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { stages } from '#infra/config/stages';
import { KAFKA_VERSION } from '#infra/constructs/msk-cluster';
import { CACHE_PORT } from '#infra/constructs/valkey-cache';
import {
  AUDIT_STORE_APP_USER,
  AUDIT_STORE_PORT,
  DATABASE_APP_USER,
  DATABASE_INSTANCE_PORT,
} from '#infra/stacks/stateful.stack';
import { resourcesOf, synthStage } from './synth.ts';

const stateful = (stage: 'dev' | 'prod' | 'localstack') => {
  const { stacks, template } = synthStage(stage);
  return template(stacks.stateful);
};

/** A secret by the end of its name, and the attachment that names it. */
const secretNamed = (template: ReturnType<typeof stateful>, suffix: string) =>
  resourcesOf(template, 'AWS::SecretsManager::Secret').find(([, s]) =>
    String(s.Properties?.Name).endsWith(suffix),
  )!;
const attachmentOf = (template: ReturnType<typeof stateful>, secretId: string) =>
  resourcesOf(template, 'AWS::SecretsManager::SecretTargetAttachment').find(
    ([, a]) => JSON.stringify(a.Properties?.SecretId) === JSON.stringify({ Ref: secretId }),
  )?.[0];

/** The rotation schedule of an attached secret, and its SAR application's template properties. */
const rotationOf = (template: ReturnType<typeof stateful>, attachmentId: string | undefined) => {
  const json = template.toJSON();
  const [[, rotation] = []] = resourcesOf(template, 'AWS::SecretsManager::RotationSchedule').filter(
    ([, r]) => JSON.stringify(r.Properties?.SecretId) === JSON.stringify({ Ref: attachmentId }),
  );
  const appId = (rotation!.Properties!.RotationLambdaARN as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]!;
  const app = json.Resources[appId];
  const mapping = app.Properties.Location.ApplicationId['Fn::FindInMap'][0];
  return {
    schedule: rotation!.Properties,
    parameters: app.Properties.Parameters,
    applicationId: String(json.Mappings[mapping].aws.applicationId),
  };
};

const secretReference = (field: string) =>
  Match.objectLike({
    'Fn::Join': ['', ['{{resolve:secretsmanager:', Match.anyValue(), `:SecretString:${field}::}}`]],
  });

describe('stateful stack: PostgreSQL and RDS Proxy', () => {
  it('runs PostgreSQL 16, encrypted, private, on a non-default port, with the password from Secrets Manager', () => {
    stateful('dev').hasResourceProperties('AWS::RDS::DBInstance', {
      Engine: 'postgres',
      EngineVersion: Match.stringLikeRegexp('^16'),
      StorageEncrypted: true,
      PubliclyAccessible: false,
      Port: String(DATABASE_INSTANCE_PORT),
      MasterUserPassword: secretReference('password'),
      EnableCloudwatchLogsExports: ['postgresql'],
    });
  });

  it('requires TLS on every database connection', () => {
    stateful('dev').hasResourceProperties('AWS::RDS::DBParameterGroup', {
      Family: 'postgres16',
      Parameters: { 'rds.force_ssl': '1' },
    });
  });

  it('puts RDS Proxy in front with TLS required and secret-based authentication, for the master and the app user', () => {
    const auth = Match.objectLike({
      AuthScheme: 'SECRETS',
      IAMAuth: 'DISABLED',
      SecretArn: Match.anyValue(),
    });
    stateful('dev').hasResourceProperties('AWS::RDS::DBProxy', {
      EngineFamily: 'POSTGRESQL',
      RequireTLS: true,
      Auth: [auth, auth],
    });
  });

  it.each(['dev', 'prod'] as const)(
    'gives the application user its own secret naming the master, rotated with alternating users after creation (%s)',
    (stage) => {
      const template = stateful(stage);
      const [appId, app] = secretNamed(template, '/database/app');
      const masterAttachment = attachmentOf(template, secretNamed(template, '/database/admin')[0]);

      // The multi-user rotation function logs in as the secret's `masterarn` to create and change the users.
      expect((app.Properties!.GenerateSecretString as Record<string, unknown>).SecretStringTemplate).toEqual({
        'Fn::Join': [
          '',
          [`{"username":"${DATABASE_APP_USER}","masterarn":"`, { Ref: masterAttachment }, '"}'],
        ],
      });
      const rotation = rotationOf(template, attachmentOf(template, appId));
      // Not at creation: the user exists only once the Stateless stack's migrate function has made it.
      expect(rotation.schedule).toMatchObject({
        RotationRules: { ScheduleExpression: 'rate(30 days)' },
        RotateImmediatelyOnUpdate: false,
      });
      expect(rotation.parameters).toMatchObject({ masterSecretArn: { Ref: masterAttachment } });
      expect(rotation.applicationId).toMatch(/:applications\/SecretsManagerRDSPostgreSQLRotationMultiUser$/);
    },
  );

  it('lets only RDS Proxy and the rotation function reach the database instance', () => {
    const template = stateful('dev');
    const groupOf = (description: string) =>
      resourcesOf(template, 'AWS::EC2::SecurityGroup').find(([, r]) =>
        String(r.Properties?.GroupDescription).startsWith(description),
      )?.[0];
    const database = groupOf('PostgreSQL instance');
    const allowed = [groupOf('RDS Proxy'), groupOf('Secrets Manager rotation of the database')];

    const ingress = resourcesOf(template, 'AWS::EC2::SecurityGroupIngress').filter(
      ([, r]) =>
        JSON.stringify(r.Properties?.GroupId) === JSON.stringify({ 'Fn::GetAtt': [database, 'GroupId'] }),
    );
    expect(ingress).toHaveLength(2);
    for (const [, rule] of ingress) {
      const source = (rule.Properties?.SourceSecurityGroupId as { 'Fn::GetAtt'?: string[] } | undefined)?.[
        'Fn::GetAtt'
      ]?.[0];
      expect(allowed).toContain(source);
    }
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'PostgreSQL instance: ingress from RDS Proxy and secret rotation only',
      SecurityGroupIngress: Match.absent(),
    });
  });

  it('rotates the database and audit store credentials (master and app user each) every 30 days', () => {
    const rotations = resourcesOf(stateful('dev'), 'AWS::SecretsManager::RotationSchedule');

    expect(rotations).toHaveLength(4);
    for (const [, r] of rotations) {
      expect(r.Properties?.RotationRules).toEqual({ ScheduleExpression: 'rate(30 days)' });
    }
  });

  it('is single-AZ, deletable and briefly backed up in dev', () => {
    const template = stateful('dev');

    template.hasResource('AWS::RDS::DBInstance', {
      Properties: Match.objectLike({ MultiAZ: false, DeletionProtection: false, BackupRetentionPeriod: 1 }),
      DeletionPolicy: 'Delete',
    });
  });

  it('is Multi-AZ, deletion-protected, snapshotted on delete and backed up for two weeks in prod', () => {
    stateful('prod').hasResource('AWS::RDS::DBInstance', {
      Properties: Match.objectLike({
        MultiAZ: true,
        DeletionProtection: true,
        BackupRetentionPeriod: stages.prod.database.backupRetentionDays,
      }),
      DeletionPolicy: 'Snapshot',
      UpdateReplacePolicy: 'Snapshot',
    });
  });
});

describe('stateful stack: ElastiCache', () => {
  it('requires TLS in transit, encrypts at rest and authenticates with a token from Secrets Manager', () => {
    stateful('dev').hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      Engine: 'valkey',
      TransitEncryptionEnabled: true,
      TransitEncryptionMode: 'required',
      AtRestEncryptionEnabled: true,
      Port: CACHE_PORT,
      AuthToken: Match.objectLike({
        'Fn::Join': ['', ['{{resolve:secretsmanager:', Match.anyValue(), ':SecretString:::}}']],
      }),
    });
  });

  it('is one node in dev and Multi-AZ with automatic failover in prod', () => {
    stateful('dev').hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      NumCacheClusters: 1,
      MultiAZEnabled: false,
    });
    stateful('prod').hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      NumCacheClusters: 2,
      MultiAZEnabled: true,
      AutomaticFailoverEnabled: true,
    });
  });
});

describe('stateful stack: DocumentDB', () => {
  it('runs engine 5.0.0 with a parameter group that requires TLS', () => {
    const template = stateful('dev');
    const [groupId] = resourcesOf(template, 'AWS::DocDB::DBClusterParameterGroup').map(([id]) => id);

    template.hasResourceProperties('AWS::DocDB::DBClusterParameterGroup', {
      Family: 'docdb5.0',
      Parameters: Match.objectLike({ tls: 'enabled' }),
    });
    template.hasResourceProperties('AWS::DocDB::DBCluster', {
      EngineVersion: '5.0.0',
      DBClusterParameterGroupName: { Ref: groupId },
      StorageEncrypted: true,
      Port: AUDIT_STORE_PORT,
      BackupRetentionPeriod: 7,
      EnableCloudwatchLogsExports: ['audit'],
    });
  });

  it('takes the master user name and password from Secrets Manager', () => {
    stateful('dev').hasResourceProperties('AWS::DocDB::DBCluster', {
      MasterUsername: secretReference('username'),
      MasterUserPassword: secretReference('password'),
    });
  });

  it('is deletion-protected and snapshotted on delete in prod only', () => {
    stateful('dev').hasResource('AWS::DocDB::DBCluster', {
      Properties: Match.objectLike({ DeletionProtection: false }),
      DeletionPolicy: 'Delete',
    });
    stateful('prod').hasResource('AWS::DocDB::DBCluster', {
      Properties: Match.objectLike({ DeletionProtection: true }),
      DeletionPolicy: 'Snapshot',
    });
  });
});

describe('stateful stack: MSK', () => {
  it('authenticates clients with IAM only and encrypts client and broker traffic', () => {
    stateful('dev').hasResourceProperties('AWS::MSK::Cluster', {
      ClientAuthentication: { Sasl: { Iam: { Enabled: true } }, Unauthenticated: { Enabled: false } },
      EncryptionInfo: { EncryptionInTransit: { ClientBroker: 'TLS', InCluster: true } },
      EnhancedMonitoring: 'DEFAULT',
      NumberOfBrokerNodes: stages.dev.kafka.brokers,
      LoggingInfo: { BrokerLogs: { CloudWatchLogs: Match.objectLike({ Enabled: true }) } },
    });
  });

  it('admits the IAM port from the mappings sharing its security group', () => {
    stateful('dev').hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 9098,
      ToPort: 9098,
      SourceSecurityGroupId: Match.anyValue(),
    });
  });

  it.each(['dev', 'prod'] as const)(
    '%s: runs the Kafka version MSK recommends (3.8.x), one broker per AZ multiple, on its configuration',
    (stage) => {
      const template = stateful(stage);
      const [[configId, configuration] = []] = resourcesOf(template, 'AWS::MSK::Configuration');

      expect(KAFKA_VERSION).toBe('3.8.x');
      template.hasResourceProperties('AWS::MSK::Cluster', {
        KafkaVersion: '3.8.x',
        NumberOfBrokerNodes: stages[stage].kafka.brokers,
        ConfigurationInfo: {
          Arn: { 'Fn::GetAtt': [configId, 'Arn'] },
          Revision: { 'Fn::GetAtt': [configId, 'LatestRevision.Revision'] },
        },
      });
      const { kafka } = stages[stage];
      expect(configuration?.Properties?.KafkaVersionsList).toEqual(['3.8.x']);
      expect(String(configuration?.Properties?.ServerProperties).split('\n').sort()).toEqual(
        [
          'auto.create.topics.enable=false',
          `default.replication.factor=${kafka.replicationFactor}`,
          `log.retention.hours=${kafka.retentionHours}`,
          `min.insync.replicas=${kafka.minInsyncReplicas}`,
          `num.partitions=${kafka.partitions}`,
          'unclean.leader.election.enable=false',
        ].sort(),
      );
    },
  );

  it('prod: acks=all survives one broker (one AZ) down: replication 3, min.insync.replicas 2, 3 subnets', () => {
    const template = stateful('prod');
    const [[, configuration] = []] = resourcesOf(template, 'AWS::MSK::Configuration');
    const [[, cluster] = []] = resourcesOf(template, 'AWS::MSK::Cluster');

    expect(String(configuration?.Properties?.ServerProperties)).toContain('min.insync.replicas=2');
    expect(String(configuration?.Properties?.ServerProperties)).toContain('default.replication.factor=3');
    const group = cluster?.Properties?.BrokerNodeGroupInfo as { ClientSubnets: unknown[] };
    expect(group.ClientSubnets).toHaveLength(3);
    expect(cluster?.Properties?.NumberOfBrokerNodes).toBe(3);
  });

  it('is retained on delete in prod', () => {
    stateful('prod').hasResource('AWS::MSK::Cluster', { DeletionPolicy: 'Retain' });
    stateful('dev').hasResource('AWS::MSK::Cluster', { DeletionPolicy: 'Delete' });
  });
});

describe('stateful stack: idempotency table and failure queue', () => {
  it('keys idempotency records by id, expires them by TTL and bills on demand', () => {
    stateful('dev').hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('retains and deletion-protects the table in prod only', () => {
    stateful('prod').hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({ DeletionProtectionEnabled: true }),
      DeletionPolicy: 'Retain',
    });
    stateful('dev').hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
  });

  it('encrypts the failure queue and refuses requests without TLS', () => {
    const template = stateful('dev');

    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('creates only the table and the queue on the LocalStack target', () => {
    const template = stateful('localstack');

    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.resourceCountIs('AWS::SQS::Queue', 1);
    for (const type of ['AWS::RDS::DBInstance', 'AWS::ElastiCache::ReplicationGroup', 'AWS::MSK::Cluster']) {
      template.resourceCountIs(type, 0);
    }
    template.resourceCountIs('AWS::DocDB::DBCluster', 0);
  });
});

describe("stateful stack: the audit functions' DocumentDB user", () => {
  it.each(['dev', 'prod'] as const)(
    'has its own secret naming the master, rotated with alternating users after creation (%s)',
    (stage) => {
      const template = stateful(stage);
      const [appId, app] = secretNamed(template, '/audit-store/app');
      const masterAttachment = attachmentOf(template, secretNamed(template, '/audit-store/admin')[0]);

      const generate = app.Properties!.GenerateSecretString as Record<string, unknown>;
      expect(generate.SecretStringTemplate).toEqual({
        'Fn::Join': [
          '',
          [`{"username":"${AUDIT_STORE_APP_USER}","masterarn":"`, { Ref: masterAttachment }, '"}'],
        ],
      });
      expect(generate.ExcludeCharacters).toContain('@');
      const rotation = rotationOf(template, attachmentOf(template, appId));
      expect(rotation.schedule).toMatchObject({
        RotationRules: { ScheduleExpression: 'rate(30 days)' },
        RotateImmediatelyOnUpdate: false,
      });
      expect(rotation.parameters).toMatchObject({ masterSecretArn: { Ref: masterAttachment } });
      expect(rotation.applicationId).toMatch(/:applications\/SecretsManagerMongoDBRotationMultiUser$/);
    },
  );
});

describe('stateful stack: secrets and rotation logs', () => {
  it('keeps every secret as long as its data: retained in prod (the databases snapshot), deleted in dev', () => {
    for (const [stage, policy] of [
      ['prod', 'Retain'],
      ['dev', 'Delete'],
    ] as const) {
      const secrets = Object.entries(
        stateful(stage).toJSON().Resources as Record<string, { Type: string; DeletionPolicy?: string }>,
      ).filter(([, r]) => r.Type === 'AWS::SecretsManager::Secret');
      expect(secrets.length).toBeGreaterThanOrEqual(5);
      for (const [id, secret] of secrets) expect(secret.DeletionPolicy, `${stage} ${id}`).toBe(policy);
    }
  });

  it.each(['dev', 'prod'] as const)(
    'gives each rotation function a log group with the stage retention (%s)',
    (stage) => {
      const template = stateful(stage);
      const resources = template.toJSON().Resources as Record<
        string,
        { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] }
      >;
      const apps = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Serverless::Application');

      expect(apps).toHaveLength(4);
      for (const [id, app] of apps) {
        const name = (app.Properties.Parameters as { functionName: string }).functionName;
        const [[groupId] = []] = Object.entries(resources).filter(
          ([, r]) => r.Type === 'AWS::Logs::LogGroup' && r.Properties.LogGroupName === `/aws/lambda/${name}`,
        );
        expect(groupId, id).toBeDefined();
        expect(resources[groupId!]?.Properties.RetentionInDays, id).toBe(stages[stage].logRetentionDays);
        // Created before the function can log (Lambda would make the group itself, without retention).
        expect(app.DependsOn, id).toContain(groupId);
      }
    },
  );
});
