import { spawnSync } from 'node:child_process';
import { Registry } from 'prom-client';
import { RpcMetrics } from '../../src/metrics/rpc_metrics';

const codeName = (code: number): string => (code === 0 ? 'OK' : code === 5 ? 'NOT_FOUND' : String(code));

function line(text: string, name: string, labels: string): number {
  const found = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.split(',').every((p) => l.includes(p)));
  if (!found) throw new Error(`no ${name}{${labels}} in:\n${text}`);
  return Number(found.slice(found.lastIndexOf(' ') + 1));
}

describe('RpcMetrics', () => {
  const registry = new Registry();
  const rpc = new RpcMetrics(registry);
  const version = rpc.forMethod('RuntimeService', 'Version');
  const status = rpc.forMethod('RuntimeService', 'ContainerStatus');
  // Bounds 0.0005, 0.001, 0.0025, … 120: these fall into the first, second, third and overflow slots.
  for (const s of [0.0002, 0.0005, 0.0007, 0.002, 500]) version.record(0, codeName, s);
  status.record(5, codeName, 0.003);
  status.record(0, codeName, 0.0001);

  test('the text form has cumulative buckets, +Inf, sum and count per method and code', async () => {
    const text = await registry.metrics();
    const v = 'method="Version",code="OK"';
    expect(line(text, 'shoal_grpc_request_duration_seconds_bucket', `${v},le="0.0005"`)).toBe(2);
    expect(line(text, 'shoal_grpc_request_duration_seconds_bucket', `${v},le="0.001"`)).toBe(3);
    expect(line(text, 'shoal_grpc_request_duration_seconds_bucket', `${v},le="0.0025"`)).toBe(4);
    expect(line(text, 'shoal_grpc_request_duration_seconds_bucket', `${v},le="120"`)).toBe(4);
    expect(line(text, 'shoal_grpc_request_duration_seconds_bucket', `${v},le="+Inf"`)).toBe(5);
    expect(line(text, 'shoal_grpc_request_duration_seconds_sum', v)).toBeCloseTo(500.0034, 6);
    expect(line(text, 'shoal_grpc_request_duration_seconds_count', v)).toBe(5);
    expect(line(text, 'shoal_grpc_requests_total', v)).toBe(5);
    expect(line(text, 'shoal_grpc_requests_total', 'method="ContainerStatus",code="NOT_FOUND"')).toBe(1);
    expect(line(text, 'shoal_grpc_requests_total', 'method="ContainerStatus",code="OK"')).toBe(1);
    expect(text).toContain('# TYPE shoal_grpc_request_duration_seconds histogram');
    expect(text).toContain('# TYPE shoal_grpc_requests_total counter');
  });

  test('a second scrape reports the same totals, not doubled ones', async () => {
    await registry.metrics();
    version.record(0, codeName, 0.0001);
    const text = await registry.metrics();
    expect(line(text, 'shoal_grpc_requests_total', 'method="Version",code="OK"')).toBe(6);
    expect(line(text, 'shoal_grpc_request_duration_seconds_count', 'method="Version",code="OK"')).toBe(6);
  });

  test('promtool accepts the text form', async () => {
    const check = spawnSync('promtool', ['check', 'metrics'], { input: await registry.metrics(), encoding: 'utf8' });
    expect(check.error).toBeUndefined();
    expect(`${check.stdout}${check.stderr}`).toBe('');
    expect(check.status).toBe(0);
  });

  test('the JSON form carries the same samples with `le` among the labels', async () => {
    const json = await registry.getMetricsAsJSON();
    const histogram = json.find((m) => m.name === 'shoal_grpc_request_duration_seconds');
    const inf = histogram?.values.find(
      (v) => (v as { metricName?: string }).metricName === 'shoal_grpc_request_duration_seconds_bucket' && v.labels.le === '+Inf' && v.labels.method === 'ContainerStatus' && v.labels.code === 'OK',
    );
    expect(inf?.value).toBe(1);
  });
});
