import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StackArtifact } from '../../../scripts/cloud/assembly.ts';
import {
  headerSourceOf,
  type LocalRestApi,
  readRestApi,
  renderHeaders,
  startRestApi,
} from '../../../scripts/cloud/rest-api.ts';

// The template's gateway responses as the stack declares them (infra/constructs/rest-api.ts).
const stack: StackArtifact = {
  stackName: 'Stateless',
  template: {
    Resources: {
      Api: { Type: 'AWS::ApiGateway::RestApi' },
      NotFound: {
        Type: 'AWS::ApiGateway::GatewayResponse',
        Properties: {
          ResponseType: 'MISSING_AUTHENTICATION_TOKEN',
          StatusCode: '404',
          ResponseParameters: {
            'gatewayresponse.header.content-type': "'application/json'",
            'gatewayresponse.header.x-correlation-id': 'context.requestId',
            'gatewayresponse.header.x-echo': 'method.request.header.x-echo',
          },
          ResponseTemplates: {
            'application/json': '{"error":"not_found","message":"no route for this path"}',
          },
        },
      },
    },
  },
};

let api: LocalRestApi;

beforeAll(async () => {
  api = await startRestApi(readRestApi(stack), {
    host: '127.0.0.1',
    port: 0,
    auth: 'off',
    invoke: async () => ({ ok: false, kind: 'function', errorType: 'x', errorMessage: 'x' }),
  });
});

afterAll(() => api?.close());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** One raw request; the whole answer as text (the server closes the connection after it). */
const raw = (text: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(api.url).port), '127.0.0.1');
    let data = '';
    socket.setTimeout(5_000, () => reject(new Error('no answer')));
    socket.on('data', (c) => (data += c.toString('latin1')));
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
    socket.write(text);
  });

describe('the local cloud renders the gateway responses the template declares (issue 16.6)', () => {
  it('reads literal, context.requestId and method.request.header mappings, and refuses others', () => {
    expect(headerSourceOf("'application/json'")).toEqual({ kind: 'literal', value: 'application/json' });
    expect(headerSourceOf('context.requestId')).toEqual({ kind: 'requestId' });
    expect(headerSourceOf('method.request.header.X-Correlation-ID')).toEqual({
      kind: 'requestHeader',
      name: 'x-correlation-id',
    });
    expect(() => headerSourceOf('context.authorizer.principalId')).toThrow(/not rendered locally/);
    // No method matched: a request header has no value, and API Gateway leaves the header out.
    expect(renderHeaders({ a: { kind: 'requestHeader', name: 'x' } }, { requestId: 'r' })).toEqual({});
  });

  it('answers an unknown path with X-Correlation-ID from context.requestId, in JSON', async () => {
    const res = await fetch(`${api.url}/nowhere`, { headers: { 'x-correlation-id': 'mine', 'x-echo': 'e' } });

    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('x-correlation-id')).toMatch(UUID);
    expect(res.headers.has('x-echo')).toBe(false); // no method: method.request.* is empty
    expect(await res.json()).toEqual({ error: 'not_found', message: 'no route for this path' });
  });

  it('answers CONNECT and TRACE as a path it lacks: JSON 404 with X-Correlation-ID', async () => {
    const connectAnswer = await raw(
      'CONNECT evil.example.com:443 HTTP/1.1\r\nHost: evil.example.com:443\r\n\r\n',
    );
    expect(connectAnswer).toMatch(/^HTTP\/1\.1 404 /);
    expect(connectAnswer).toMatch(/\r\nx-correlation-id: [0-9a-f-]{36}\r\n/i);
    expect(connectAnswer).toContain('"error":"not_found"');

    const trace = await raw('TRACE /api/v1/routes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(trace).toMatch(/^HTTP\/1\.1 404 /);
    expect(trace).toMatch(/\r\nx-correlation-id: [0-9a-f-]{36}\r\n/i);
    expect(trace).toContain('"error":"not_found"');
  });

  it('answers an unknown Expect and malformed HTTP in JSON with X-Correlation-ID', async () => {
    const expectation = await new Promise<{ status: number; id: unknown; body: string }>(
      (resolve, reject) => {
        const req = request(
          `${api.url}/nowhere`,
          { method: 'POST', headers: { expect: 'teapot' } },
          (res) => {
            let body = '';
            res.on('data', (c) => (body += c));
            res.on('end', () =>
              resolve({ status: res.statusCode!, id: res.headers['x-correlation-id'], body }),
            );
          },
        );
        req.on('error', reject);
        req.end();
      },
    );
    expect(expectation.status).toBe(417);
    expect(expectation.id).toMatch(UUID);
    expect(JSON.parse(expectation.body)).toMatchObject({ error: 'expectation_failed' });

    const malformed = await raw('GET / HTTP/1.1\r\nHost: x\r\nBad\0Header: 1\r\n\r\n');
    expect(malformed).toMatch(/^HTTP\/1\.1 400 /);
    expect(malformed).toMatch(/\r\nx-correlation-id: [0-9a-f-]{36}\r\n/i);
    expect(malformed).toContain('"error":"malformed_request"');
  });
});
