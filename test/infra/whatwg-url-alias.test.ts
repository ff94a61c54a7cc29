import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import ConnectionString from 'mongodb-connection-string-url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAMBDA_MODULE_ALIASES } from '#infra/bundling';
import { REPO_ROOT } from '#infra/paths';

// The Lambda bundles parse MongoDB connection strings with Node's built-in URL in place of the whatwg-url
// package (infra/bundling.ts). Both implement the WHATWG URL standard; this holds them equal on the
// connection strings this system meets (DocumentDB's, mongo-java-server's, Atlas-style SRV).
const URIS = [
  'mongodb://127.0.0.1:27027',
  'mongodb://127.0.0.1:27027/traffic_manager',
  'mongodb://tm_admin:p%40ss%3Aw%2Ford@docdb.cluster-abc.eu-west-1.docdb.amazonaws.com:27017/?tls=true&replicaSet=rs0&readPreference=secondaryPreferred&retryWrites=false',
  'mongodb://user:pw@a.example.com:27017,b.example.com:27018,c.example.com/db?authSource=admin&w=majority',
  'mongodb://[::1]:27017,[fe80::1%25eth0]:27018/?directConnection=false',
  'mongodb+srv://cluster0.mongodb.example.net/app?retryWrites=true&appName=Traffic%20Manager',
  'mongodb://bücher.example:27017/?tlsCAFile=%2Fvar%2Ftask%2Fglobal-bundle.pem&TLS=true',
  'mongodb://localhost/?readPreferenceTags=dc:ny,rack:1&readPreferenceTags=dc:ny&readPreferenceTags=',
];

let Aliased: typeof ConnectionString;
const outdir = mkdtempSync(join(tmpdir(), 'tm-whatwg-'));

beforeAll(async () => {
  await build({
    stdin: { contents: "export { default } from 'mongodb-connection-string-url';", resolveDir: REPO_ROOT },
    absWorkingDir: REPO_ROOT,
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: join(outdir, 'connection-string.mjs'),
    alias: LAMBDA_MODULE_ALIASES,
    metafile: false,
    logLevel: 'error',
    banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
  });
  Aliased = (await import(pathToFileURL(join(outdir, 'connection-string.mjs')).href)).default;
}, 60_000);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const view = (cs: ConnectionString) => ({
  href: cs.href,
  string: cs.toString(),
  protocol: cs.protocol,
  isSRV: cs.isSRV,
  hosts: cs.hosts,
  username: cs.username,
  password: cs.password,
  pathname: cs.pathname,
  params: [...cs.searchParams.entries()],
  tls: cs.searchParams.get('tls'),
  redacted: cs.redact().toString(),
});

describe('the whatwg-url alias in the Lambda bundles', () => {
  it('uses Node’s URL: the bundled parser is not the package’s', () => {
    const cs = new Aliased('mongodb://127.0.0.1:27027');
    expect(cs).toBeInstanceOf(globalThis.URL);
    expect(new ConnectionString('mongodb://127.0.0.1:27027')).not.toBeInstanceOf(globalThis.URL);
  });

  it.each(URIS)('parses %s exactly as whatwg-url does', (uri) => {
    expect(view(new Aliased(uri))).toEqual(view(new ConnectionString(uri)));
  });

  it('rejects the same malformed strings', () => {
    for (const bad of [
      'mongodb://',
      'http://x',
      'mongodb://a:b@',
      'mongodb://user@:pw@host',
      'mongodb://h:99999',
    ]) {
      const outcome = (C: typeof ConnectionString) => {
        try {
          return view(new C(bad));
        } catch (err) {
          return (err as Error).name;
        }
      };
      expect(outcome(Aliased), bad).toEqual(outcome(ConnectionString));
    }
  });
});
