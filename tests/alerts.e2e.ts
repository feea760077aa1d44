/**
 * The alerting rules (ops/prometheus/hub-alerts.yml, issue 12 item 3): valid for Prometheus
 * (`promtool check rules`), each alert firing and staying silent as its promtool unit tests say
 * (`promtool test rules`), each with a runbook paragraph in docs/runbooks.md, and reading only
 * series the hub's processes really export (their metric registries, instantiated here).
 * promtool comes from Debian's `prometheus` package, which .ci/run installs.
 */
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createEventMetrics, createSyncHealthMetrics } from '@hub/core/events/metrics';
import { createMetrics } from '@hub/core/metrics';
import { REPO_ROOT } from '@hub/core/process';
import type { StoreSql } from '@hub/store';
import { createGatewayMetrics } from '@hub/gateway/metrics';

const RULES = path.join(REPO_ROOT, 'ops/prometheus/hub-alerts.yml');
const TESTS = path.join(REPO_ROOT, 'ops/prometheus/hub-alerts.test.yml');

function promtool(...args: string[]) {
  const run = spawnSync('promtool', args, { cwd: REPO_ROOT, encoding: 'utf8' });
  if (run.error) throw new Error(`promtool: ${run.error.message} (apt-get install prometheus; .ci/run does)`);
  return { status: run.status, out: `${run.stdout}${run.stderr}` };
}

type Rules = { groups: { name: string; rules: { alert: string; expr: string; annotations: { runbook: string } }[] }[] };

describe('alerting rules', () => {
  it('are valid rules for Prometheus', () => {
    const check = promtool('check', 'rules', RULES);
    expect(check.out).toMatch(/SUCCESS: \d+ rules found/);
    expect(check.status).toBe(0);
  });

  it('fire and stay silent as their unit tests say', () => {
    const test = promtool('test', 'rules', TESTS);
    expect(test.out).toContain('SUCCESS');
    expect(test.status).toBe(0);
  });

  it('each have a runbook paragraph, and each alert has a unit test', async () => {
    const rules = parse(await readFile(RULES, 'utf8')) as Rules;
    const runbooks = await readFile(path.join(REPO_ROOT, 'docs/runbooks.md'), 'utf8');
    const tested = await readFile(TESTS, 'utf8');
    const anchors = new Set([...runbooks.matchAll(/^## (\S+)$/gm)].map((m) => (m[1] ?? '').toLowerCase()));
    for (const rule of rules.groups.flatMap((g) => g.rules)) {
      const anchor = rule.annotations.runbook.split('#')[1] ?? '';
      expect(rule.annotations.runbook.startsWith('docs/runbooks.md#'), rule.alert).toBe(true);
      expect(anchors.has(anchor), `${rule.alert} -> ${anchor}`).toBe(true);
      expect(tested, rule.alert).toContain(`alertname: ${rule.alert}`);
    }
  });

  it('read only series the gateway and the subgraphs export', async () => {
    const rules = parse(await readFile(RULES, 'utf8')) as Rules;
    const used = new Set(
      rules.groups
        .flatMap((g) => g.rules)
        .flatMap((rule) => [...rule.expr.matchAll(/\b(hub_[a-z_]+|process_[a-z_]+)\b/g)].map((m) => m[1] ?? ''))
        .map((name) => name.replace(/_(bucket|count|sum)$/, '')),
    );
    // The registries as the processes build them; nothing is scraped, so the store is never asked.
    const subgraph = createMetrics('subgraph-test');
    const unused = {} as StoreSql;
    createEventMetrics(subgraph.registry, 'test', unused);
    createSyncHealthMetrics(subgraph.registry, 'test', unused, [{ name: 'daily', schedule: '0 2 * * *' }]);
    const gateway = createGatewayMetrics();
    const exported = new Set(
      [...subgraph.registry.getMetricsAsArray(), ...(gateway.registry as Registry).getMetricsAsArray()].map(
        (metric) => (metric as unknown as { name: string }).name,
      ),
    );
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
  });
});
