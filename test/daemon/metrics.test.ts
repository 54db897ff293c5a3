import { spawnSync } from 'node:child_process';
import { startDaemon, type TestDaemon } from '../helpers/daemon';

async function scrape(daemon: TestDaemon): Promise<string> {
  const res = await fetch(`http://${daemon.metricsAddress}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return res.text();
}

function sample(text: string, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (want.every((w) => line.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

describe('/metrics', () => {
  let daemon: TestDaemon;
  beforeAll(async () => {
    daemon = await startDaemon();
  });
  afterAll(async () => {
    await daemon?.cleanup();
  });

  test('is served and its RPC counter and histogram move after a call', async () => {
    const labels = { service: 'RuntimeService', method: 'Version', code: 'OK' };
    const before = sample(await scrape(daemon), 'shoal_grpc_requests_total', labels);
    await daemon.client.runtime('Version', {});
    await daemon.client.runtime('Version', {});
    const text = await scrape(daemon);
    expect(sample(text, 'shoal_grpc_requests_total', labels)).toBe(before + 2);
    expect(sample(text, 'shoal_grpc_request_duration_seconds_count', labels)).toBe(before + 2);
  });

  test('errors are counted under their gRPC code', async () => {
    await daemon.client.runtime('CheckpointContainer', { container_id: 'x' }).catch(() => undefined);
    const text = await scrape(daemon);
    expect(sample(text, 'shoal_grpc_requests_total', { method: 'CheckpointContainer', code: 'UNIMPLEMENTED' })).toBeGreaterThanOrEqual(1);
  });

  test('carries Node process metrics under the shoal_ prefix', async () => {
    const text = await scrape(daemon);
    expect(text).toMatch(/^shoal_process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^shoal_nodejs_eventloop_lag_seconds /m);
  });

  test('promtool check metrics prints nothing', async () => {
    await daemon.client.runtime('Version', {});
    const text = await scrape(daemon);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  test('anything but GET and HEAD is refused', async () => {
    const res = await fetch(`http://${daemon.metricsAddress}/metrics`, { method: 'POST' });
    expect(res.status).toBe(405);
  });
});
