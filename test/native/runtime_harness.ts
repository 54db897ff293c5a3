/**
 * Runs bin/shoal-runtime for the runtime e2e tests and tracks what each test created (containers,
 * cgroups, bundles, temp dirs) so that `cleanup()` removes all of it even when the test failed.
 */
import { spawn, spawnSync, SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Bundle, BundleOptions, makeBundle, OciSpec } from '../helpers/bundle';

export const BIN = path.resolve(__dirname, '../../bin');
export const RUNTIME = path.join(BIN, 'shoal-runtime');
export const LIBSHOAL = path.join(BIN, 'libshoal.so');

if (!fs.existsSync(RUNTIME)) {
  throw new Error(`${RUNTIME} is missing: build it first with \`make -C native OUT=$PWD/bin\``);
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let seq = 0;
/** A name unique across jest workers and runs. */
export function uniqueName(prefix: string): string {
  seq += 1;
  return `${prefix}-${process.pid}-${seq}-${Math.random().toString(36).slice(2, 7)}`;
}

/** Every cgroup hierarchy mount point on this host (v1 controllers and cgroup2). */
export function cgroupMounts(): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => / - cgroup2? /.test(l))
    .map((l) => l.split(' ')[4]);
}

export function rmCgroup(rel: string): void {
  for (const m of cgroupMounts()) {
    const dir = path.join(m, rel);
    if (!fs.existsSync(dir)) continue;
    try {
      for (const pid of fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    } catch {
      /* no procs file */
    }
    for (let i = 0; i < 50; i++) {
      try {
        fs.rmdirSync(dir);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') break;
        spawnSync('sleep', ['0.02']);
      }
    }
  }
}

export class RuntimeHarness {
  readonly root: string;
  readonly tmp: string;
  private readonly ids = new Set<string>();
  private readonly cgroups = new Set<string>();
  private readonly bundles: Bundle[] = [];

  constructor() {
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-rt-test-'));
    this.root = path.join(this.tmp, 'state');
  }

  /** A container id, deleted (--force) at cleanup. */
  id(prefix = 'c'): string {
    const id = uniqueName(prefix);
    this.ids.add(id);
    return id;
  }

  /** A single-level cgroups path, removed from every hierarchy at cleanup. */
  cgroup(prefix = 'shoal-test'): string {
    const cg = `/${uniqueName(prefix)}`;
    this.cgroups.add(cg);
    return cg;
  }

  /** A bundle with its own cgroups path (so that even the default cgroup is cleaned up). */
  bundle(opts: BundleOptions = {}): Bundle {
    const cg = this.cgroup();
    const b = makeBundle({
      ...opts,
      parent: this.tmp,
      edit: (s) => {
        s.linux.cgroupsPath = cg;
        opts.edit?.(s);
      },
    });
    this.bundles.push(b);
    return b;
  }

  /** `create` of a bundle changed by `edit` must fail before anything runs, with exactly one line
   *  that names `field`, and leave no container behind. */
  expectCreateRefused(edit: (s: OciSpec) => void, field: string | RegExp): void {
    const b = this.bundle({ args: ['true'], edit });
    const id = this.id();
    const r = this.run(['create', '--bundle', b.dir, id]);
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.length > 0);
    expect(lines).toHaveLength(1);
    if (typeof field === 'string') expect(lines[0]).toContain(field);
    else expect(lines[0]).toMatch(field);
    expect(this.run(['state', id]).code).not.toBe(0);
  }

  /** Runs the runtime to completion. stdout/stderr go to files, not pipes: after `create` the
   *  container process holds the runtime's stdio, and a pipe would never reach EOF. */
  run(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Result {
    seq += 1;
    const out = path.join(this.tmp, `out-${seq}`);
    const err = path.join(this.tmp, `err-${seq}`);
    const outFd = fs.openSync(out, 'w');
    const errFd = fs.openSync(err, 'w');
    let r: SpawnSyncReturns<Buffer>;
    try {
      r = spawnSync(RUNTIME, ['--root', this.root, ...args], {
        input: opts.input ?? '',
        stdio: ['pipe', outFd, errFd],
        timeout: opts.timeoutMs ?? 30000,
      });
    } finally {
      fs.closeSync(outFd);
      fs.closeSync(errFd);
    }
    if (r.error) throw r.error;
    const result = { code: r.status ?? 128, stdout: fs.readFileSync(out, 'utf8'), stderr: fs.readFileSync(err, 'utf8') };
    fs.rmSync(out, { force: true });
    fs.rmSync(err, { force: true });
    return result;
  }

  /** Like run() but asynchronous, for tests that talk to the process while it runs. */
  runAsync(args: string[], opts: { stdio?: ('pipe' | 'ignore' | number)[] } = {}): Promise<Result> {
    return new Promise((resolve, reject) => {
      const child = spawn(RUNTIME, ['--root', this.root, ...args], { stdio: opts.stdio ?? ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr }));
    });
  }

  /** Runs `args` in a fresh container of bundle b and returns the result (run = create+start+wait). */
  runIn(b: Bundle, extra: string[] = []): Result {
    return this.run(['run', ...extra, '--bundle', b.dir, this.id()]);
  }

  state(id: string): { status: string; pid?: number; id: string; bundle: string; annotations?: Record<string, string> } {
    const r = this.run(['state', id]);
    if (r.code !== 0) throw new Error(`state ${id}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  cleanup(): void {
    for (const id of this.ids) {
      try {
        this.run(['delete', '--force', id]);
      } catch {
        /* keep cleaning */
      }
    }
    for (const cg of this.cgroups) rmCgroup(cg);
    for (const b of this.bundles) b.cleanup();
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}

/** Polls fn until it returns true (no timing assertions: only a generous upper bound). */
export async function waitFor(fn: () => boolean, what: string, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (fn()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}
