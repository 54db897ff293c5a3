import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TestDaemon } from '../helpers/daemon';
import { containerEnv, createContainer, runPod, type ContainerEnv } from '../container/env';

// /metrics as a whole: promtool finds nothing to say about it, and a real Prometheus (Debian's,
// on loopback, scraping every second) sees the daemon up and stores its samples.

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function getJson(url: string): Promise<{ status: string; data: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(url);
  return (await res.json()) as { status: string; data: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not seen in ${timeoutMs} ms (${String(lastError ?? 'no error')})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('/metrics', () => {
  let env: ContainerEnv;
  let daemon: TestDaemon;
  let prometheus: ChildProcess | undefined;
  let promLog = '';
  const dir = mkdtempSync('/tmp/shoal-prom-');

  beforeAll(async () => {
    env = await containerEnv();
    daemon = env.daemon;
    // A pod with a running container, an exec, stats calls and a failing call: every part's
    // metrics get series (RPCs by code, pods and containers by state, events, pulls…).
    const pod = await runPod(daemon);
    const id = await createContainer(env, pod, { command: ['/bin/sh', '-c', 'sleep 1000'] });
    await daemon.client.runtime('StartContainer', { container_id: id });
    await daemon.client.runtime('ExecSync', { container_id: id, cmd: ['/bin/sh', '-c', 'echo hi'], timeout: '10' });
    await daemon.client.runtime('Version', {});
    await daemon.client.runtime('ListContainerStats', {});
    await daemon.client.runtime('ListPodSandboxStats', {});
    await daemon.client.runtime('ListMetricDescriptors', {});
    await daemon.client.runtime('ContainerStats', { container_id: 'no-such-container' }).catch(() => undefined);
  });

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((r) => prometheus!.once('exit', r));
      prometheus.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
    await env?.cleanup();
  });

  test('promtool check metrics prints nothing', async () => {
    const res = await fetch(`http://${daemon.metricsAddress}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('shoal_grpc_requests_total');
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`).toBe('');
    expect(check.status).toBe(0);
  });

  test('a real Prometheus scrapes the daemon: target up, samples stored', async () => {
    const port = await freePort();
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: shoal',
        '    static_configs:',
        `      - targets: ['${daemon.metricsAddress}']`,
        '',
      ].join('\n'),
    );
    prometheus = spawn(
      'prometheus',
      [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    prometheus.stderr!.setEncoding('utf8').on('data', (chunk: string) => (promLog += chunk));
    const api = `http://127.0.0.1:${port}/api/v1`;

    const target = await until(async () => {
      if (prometheus!.exitCode !== null) throw new Error(`prometheus exited: ${promLog}`);
      const t = await getJson(`${api}/targets`);
      const active = t.data.activeTargets as Array<{ health: string; lastError: string; labels: Record<string, string> }>;
      return active.find((a) => a.labels.job === 'shoal' && a.health === 'up');
    }, 60_000, 'target up');
    expect(target.lastError).toBe('');

    const series = await until(async () => {
      const q = await getJson(`${api}/query?query=${encodeURIComponent('shoal_grpc_requests_total{job="shoal"}')}`);
      return q.data.result.length > 0 ? (q.data.result as Array<{ metric: Record<string, string> }>) : undefined;
    }, 30_000, 'shoal_grpc_requests_total samples');
    expect(series.map((s) => s.metric.method)).toEqual(expect.arrayContaining(['Version', 'ListContainerStats']));

    const scraped = await getJson(`${api}/query?query=${encodeURIComponent('scrape_samples_scraped{job="shoal"}')}`);
    expect(Number(scraped.data.result[0].value[1])).toBeGreaterThan(50);
    const processMetric = await getJson(`${api}/query?query=${encodeURIComponent('shoal_process_resident_memory_bytes')}`);
    expect(Number(processMetric.data.result[0].value[1])).toBeGreaterThan(0);
  });
});
