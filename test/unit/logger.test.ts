import { afterEach, describe, expect, it, vi } from 'vitest';
import { logger, runWithCorrelationId } from '#shared/observability/logger';
import { captureOutput } from '#test/support/output';

afterEach(() => vi.restoreAllMocks());

describe('logger', () => {
  it('writes JSON lines carrying the request correlation id', () => {
    const { lines } = captureOutput();
    runWithCorrelationId('corr-77', () => logger.error('boom', { dependency: 'database' }));
    const line = JSON.parse(lines.join('').trim());
    expect(line).toMatchObject({
      level: 'ERROR',
      message: 'boom',
      correlation_id: 'corr-77',
      dependency: 'database',
    });
  });

  it('keeps correlation ids of concurrent requests apart', async () => {
    const { lines } = captureOutput();
    await Promise.all(
      ['a', 'b', 'c'].map((id) =>
        runWithCorrelationId(id, async () => {
          await new Promise((r) => setTimeout(r, Math.random() * 10));
          logger.error(`from ${id}`);
        }),
      ),
    );
    for (const raw of lines.join('').trim().split('\n')) {
      const line = JSON.parse(raw);
      expect(line.message).toBe(`from ${line.correlation_id}`);
    }
  });

  it('redacts secret-looking fields wherever they are', () => {
    const { lines } = captureOutput();
    logger.error('connecting', {
      password: 'hunter2',
      nested: { authToken: 's3cr3t', host: 'db' },
      Authorization: 'Bearer abc',
    });
    const out = lines.join('');
    expect(out).not.toMatch(/hunter2|s3cr3t|Bearer abc/);
    expect(JSON.parse(out.trim()).nested).toEqual({ authToken: '[REDACTED]', host: 'db' });
  });
});
