import type { Assembly } from './assembly.ts';
import { type ResolveContext, type ResourceMap, resolveValue } from './intrinsics.ts';
import { tableNameOf } from './local-resources.ts';
import { contextFor } from './template-functions.ts';

export interface DeployStoresOptions {
  readonly assembly: Assembly;
  readonly resources: ResourceMap;
  readonly secretValue: ResolveContext['secretValue'];
  /** A superuser connection to the local PostgreSQL: it creates the database and the master user. */
  readonly adminDatabaseUrl: string;
  readonly dynamoEndpoint: string;
  readonly say: (line: string) => void;
}

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/**
 * What CloudFormation would create for the stateful resources the map stands in for: the RDS instance's
 * database and master user (a local superuser of the same name, with the secret's password; on RDS it is
 * rds_superuser) and each DynamoDB table with its key schema. Idempotent: a second start changes nothing.
 */
export const deployStores = async (o: DeployStoresOptions): Promise<void> => {
  const pg = (await import('pg')).default;
  const { DynamoDBClient, CreateTableCommand } = await import('@aws-sdk/client-dynamodb');
  for (const stack of o.assembly.stacks) {
    const ctx = contextFor(o.assembly, stack, o.resources, o.secretValue);
    for (const [id, r] of Object.entries(stack.template.Resources)) {
      const p = r.Properties ?? {};
      if (r.Type === 'AWS::RDS::DBInstance') {
        const user = resolveValue(p.MasterUsername, ctx);
        const password = resolveValue(p.MasterUserPassword, ctx);
        const dbName = String(p.DBName ?? 'postgres');
        const admin = new pg.Client({ connectionString: o.adminDatabaseUrl });
        await admin.connect();
        try {
          const exists = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [user]);
          await admin.query(
            `${exists.rowCount ? 'ALTER' : 'CREATE'} ROLE ${quoteIdent(user)} LOGIN SUPERUSER PASSWORD '${password.replaceAll("'", "''")}'`,
          );
          const db = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
          if (!db.rowCount) await admin.query(`CREATE DATABASE ${quoteIdent(dbName)}`);
        } finally {
          await admin.end();
        }
        o.say(`database: ${dbName}, master user ${user} (${id})`);
      }
      if (r.Type === 'AWS::DynamoDB::Table') {
        const client = new DynamoDBClient({
          endpoint: o.dynamoEndpoint,
          region: 'us-east-1',
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        });
        const name = tableNameOf(stack, id, r);
        try {
          await client.send(
            new CreateTableCommand({
              TableName: name,
              KeySchema: p.KeySchema as never,
              AttributeDefinitions: p.AttributeDefinitions as never,
              BillingMode: (p.BillingMode as 'PAY_PER_REQUEST' | undefined) ?? 'PAY_PER_REQUEST',
            }),
          );
        } catch (err) {
          if ((err as { name?: string }).name !== 'ResourceInUseException') throw err;
        } finally {
          client.destroy();
        }
        o.say(`table: ${name} (${id}) on ${o.dynamoEndpoint}`);
      }
    }
  }
};
