import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { ConfigError, EnvReader } from '../src/config.js';
import { inSpan, readTracingConfig, startTracing, statementSpans, tracingEnabled } from '../src/tracing.js';

const read = (env: Record<string, string>) => {
  const reader = new EnvReader(env);
  return reader.done(readTracingConfig(reader, 'subgraph-sales'));
};

describe('tracing config', () => {
  it('is off without an endpoint, and takes the standard variables', () => {
    expect(read({})).toEqual({ endpoint: undefined, serviceName: 'subgraph-sales' });
    expect(read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).endpoint).toBe(
      'http://collector:4318/v1/traces',
    );
    // The signal-specific URL is used as it is and wins.
    expect(
      read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b/t' }).endpoint,
    ).toBe('http://b/t');
    expect(read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_SDK_DISABLED: 'true' }).endpoint).toBeUndefined();
    expect(read({ OTEL_SERVICE_NAME: 'hub-sales-eu' }).serviceName).toBe('hub-sales-eu');
    expect(() => read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(ConfigError);
  });
});

describe('tracing off', () => {
  it('registers no SDK: the API hands out non-recording spans and the helpers run their work as it is', async () => {
    const tracing = startTracing({ endpoint: undefined, serviceName: 'test' });
    expect(tracing.enabled).toBe(false);
    expect(tracingEnabled()).toBe(false);
    expect(trace.getTracer('t').startSpan('s').isRecording()).toBe(false);
    expect(await inSpan('work', {}, async (span) => span)).toBeUndefined();
    statementSpans('sales')('SELECT 1', 1);
    await tracing.shutdown();
  });
});

describe('tracing on', () => {
  it('exports spans to the endpoint, statements under the span that ran them, and unregisters on shutdown', async () => {
    const bodies: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        bodies.push(body);
        res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const tracing = startTracing({ endpoint: `http://127.0.0.1:${port}/v1/traces`, serviceName: 'unit' });
    try {
      expect(tracingEnabled()).toBe(true);
      await inSpan('batch', {}, async (span) => {
        expect(span?.isRecording()).toBe(true);
        statementSpans('sales')('SELECT "id" FROM "sales"."Opportunity" WHERE "id" = $1', 2);
      });
      // Outside any span a statement makes no trace of its own.
      context.with(context.active(), () => statementSpans('sales')('SELECT 2', 1));
    } finally {
      await tracing.shutdown();
    }
    expect(tracingEnabled()).toBe(false);
    expect(trace.getTracer('t').startSpan('s').isRecording()).toBe(false);
    // Started again in the same process, it exports again.
    const again = startTracing({ endpoint: `http://127.0.0.1:${port}/v1/traces`, serviceName: 'unit' });
    await inSpan('again', {}, async () => undefined);
    await again.shutdown();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const names = bodies.flatMap((b) =>
      (JSON.parse(b) as { resourceSpans: { scopeSpans: { spans: { name: string }[] }[] }[] }).resourceSpans.flatMap(
        (r) => r.scopeSpans.flatMap((s) => s.spans.map((span) => span.name)),
      ),
    );
    expect(names.sort()).toEqual(['SELECT Opportunity', 'again', 'batch']);
  });
});
