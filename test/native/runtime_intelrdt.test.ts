/** linux.intelRdt through resctrl. Without a mounted resctrl filesystem (this machine kind: a VM
 *  without RDT) an intelRdt section must fail `create`, as the spec requires; malformed fields are
 *  refused before that, naming the field. Where resctrl is mounted, the group, its schemata and the
 *  container's task are checked and the group is removed with the container. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OciSpec } from '../helpers/bundle';
import { RuntimeHarness } from './runtime_harness';

let h: RuntimeHarness;
beforeEach(() => {
  h = new RuntimeHarness();
});
afterEach(() => h.cleanup());

function resctrlMount(): string | undefined {
  const line = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .find((l) => / - resctrl /.test(l));
  return line?.split(' ')[4];
}

function create(edit: (s: OciSpec) => void, args = ['true']): { id: string; code: number; stderr: string } {
  const b = h.bundle({ args, edit });
  const id = h.id();
  const r = h.run(['create', '--bundle', b.dir, id]);
  return { id, code: r.code, stderr: r.stderr };
}

const expectRefused = (edit: (s: OciSpec) => void, field: string | RegExp): void => h.expectCreateRefused(edit, field);

test('malformed intelRdt fields are refused, naming the field', () => {
  expectRefused((s) => (s.linux.intelRdt = { memBwSchema: 'L3:0=ff' }), 'linux.intelRdt.memBwSchema');
  expectRefused((s) => (s.linux.intelRdt = { l3CacheSchema: 'L3:0=ff\nMB:0=10' }), 'linux.intelRdt.l3CacheSchema');
  expectRefused((s) => (s.linux.intelRdt = { schemata: ['L3:0=ff', 7] }), 'linux.intelRdt.schemata[1]');
  expectRefused((s) => (s.linux.intelRdt = { closID: '../escape' }), 'linux.intelRdt.closID');
  expectRefused((s) => (s.linux.intelRdt = 'yes'), 'linux.intelRdt');
});

test('intelRdt asks for resctrl: refused when none is mounted, applied when it is', () => {
  const mnt = resctrlMount();
  if (!mnt) {
    // every form of the section needs resctrl
    const why = /^shoal-runtime: linux\.intelRdt: no resctrl filesystem is mounted/;
    expectRefused((s) => (s.linux.intelRdt = { closID: 'guaranteed_group' }), why);
    expectRefused((s) => (s.linux.intelRdt = { l3CacheSchema: 'L3:0=7f0', memBwSchema: 'MB:0=20' }), why);
    expectRefused((s) => (s.linux.intelRdt = { enableMonitoring: true }), why);
    expectRefused((s) => (s.linux.intelRdt = {}), why);
    // and a container without the section is untouched by it
    const ok = create(() => undefined);
    expect(ok.stderr).toBe('');
    return;
  }
  // resctrl present: a group named after the container, holding the container's process
  const r = create((s) => (s.linux.intelRdt = {}), ['sleep', '30']);
  expect(r.stderr).toBe('');
  const group = path.join(mnt, r.id);
  const pid = h.state(r.id).pid as number;
  expect(fs.readFileSync(path.join(group, 'tasks'), 'utf8').split('\n')).toContain(String(pid));
  expect(h.run(['delete', '--force', r.id]).code).toBe(0);
  expect(fs.existsSync(group)).toBe(false);
});
