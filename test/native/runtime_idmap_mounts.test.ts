/** Idmapped bind mounts: mounts[].uidMappings/gidMappings with the idmap and ridmap options, and
 *  idmap without mappings in a user namespace (the container's mappings). Ownership is read from
 *  inside the container; files created through the mount are checked on the host. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OciSpec } from '../helpers/bundle';
import { RuntimeHarness } from './runtime_harness';

let h: RuntimeHarness;
const hostMounts: string[] = [];
beforeEach(() => {
  h = new RuntimeHarness();
});
afterEach(() => {
  for (const m of hostMounts.splice(0)) spawnSync('umount', ['-l', m]);
  h.cleanup();
});

/** A host directory with files owned by 0, 5 and 500 (uid = gid). */
function volume(name: string): string {
  const dir = path.join(h.tmp, name);
  fs.mkdirSync(dir, { mode: 0o777 });
  fs.chmodSync(dir, 0o777);
  for (const id of [0, 5, 500]) {
    const f = path.join(dir, `own${id}`);
    fs.writeFileSync(f, '');
    fs.chownSync(f, id, id);
  }
  return dir;
}

const map = (containerID: number, hostID: number, size: number) => [{ containerID, hostID, size }];
const STAT = (dir: string) => `for f in ${dir}/*; do stat -c '%n %u:%g' $f; done`;

test('uidMappings/gidMappings shift the ownership seen through the mount, and back for new files', () => {
  const vol = volume('vol');
  const b = h.bundle({
    args: ['sh', '-c', `${STAT('/mnt')}; touch /mnt/by-root 2>/dev/null || echo root-unmapped`],
    edit: (s) => {
      s.mounts.push({ destination: '/mnt', type: 'bind', source: vol, options: ['bind', 'idmap'], uidMappings: map(0, 1000, 100), gidMappings: map(0, 2000, 100) } as OciSpec['mounts'][0]);
    },
  });
  const r = h.runIn(b);
  expect(r.stderr).toBe('');
  // on disk 0 → 1000 (gid 2000), 5 → 1005, 500 is outside the range: the overflow id
  expect(r.stdout).toBe('/mnt/own0 1000:2000\n/mnt/own5 1005:2005\n/mnt/own500 65534:65534\nroot-unmapped\n');
  expect(fs.existsSync(path.join(vol, 'by-root'))).toBe(false);

  // uid 1005 inside writes through the mapping: the file is owned by 5 on disk
  b.writeConfig((s) => {
    s.process.args = ['sh', '-c', 'touch /mnt/by-user && stat -c "%u:%g" /mnt/by-user'];
    s.process.user = { uid: 1005, gid: 2005 };
  });
  const r2 = h.runIn(b);
  expect(r2.stderr).toBe('');
  expect(r2.stdout).toBe('1005:2005\n');
  const st = fs.statSync(path.join(vol, 'by-user'));
  expect([st.uid, st.gid]).toEqual([5, 5]);
});

test('idmap without mappings uses the container’s user namespace mappings; a plain bind shows nobody', () => {
  const vol = volume('vol');
  fs.chmodSync(h.tmp, 0o755); // the mapped root must be able to reach the bundle
  const b = h.bundle({
    args: ['sh', '-c', `${STAT('/plain')}; ${STAT('/mapped')}; touch /mapped/new && echo created`],
    edit: (s) => {
      s.linux.namespaces.push({ type: 'user' });
      s.linux.uidMappings = map(0, 100000, 65536);
      s.linux.gidMappings = map(0, 100000, 65536);
      s.mounts = s.mounts.filter((m) => m.destination !== '/sys' && m.destination !== '/sys/fs/cgroup');
      s.mounts.push({ destination: '/plain', type: 'bind', source: vol, options: ['bind'] });
      s.mounts.push({ destination: '/mapped', type: 'bind', source: vol, options: ['rbind', 'idmap'] });
    },
  });
  // the mapped root cannot create mount points in the host-owned rootfs
  for (const d of ['plain', 'mapped']) fs.mkdirSync(path.join(b.rootfs, d));
  const r = h.runIn(b);
  expect(r.stderr).toBe('');
  expect(r.stdout).toBe(
    '/plain/own0 65534:65534\n/plain/own5 65534:65534\n/plain/own500 65534:65534\n' +
      '/mapped/own0 0:0\n/mapped/own5 5:5\n/mapped/own500 500:500\ncreated\n',
  );
  const st = fs.statSync(path.join(vol, 'new'));
  expect([st.uid, st.gid]).toEqual([0, 0]); // container root writes as root on disk, through the mapping
});

test('ridmap maps the submounts of an rbind too; idmap only the top mount', () => {
  const vol = volume('vol');
  const sub = path.join(vol, 'sub');
  fs.mkdirSync(sub);
  expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'mode=777', 'shoal-idmap-test', sub]).status).toBe(0);
  hostMounts.push(sub);
  fs.writeFileSync(path.join(sub, 'f'), '');
  const b = h.bundle({
    args: ['sh', '-c', 'stat -c "%n %u" /r/own0 /r/sub/f /i/own0 /i/sub/f'],
    edit: (s) => {
      const m = map(0, 3000, 10);
      s.mounts.push({ destination: '/r', type: 'bind', source: vol, options: ['rbind', 'ridmap'], uidMappings: m, gidMappings: m } as OciSpec['mounts'][0]);
      s.mounts.push({ destination: '/i', type: 'bind', source: vol, options: ['rbind', 'idmap'], uidMappings: m, gidMappings: m } as OciSpec['mounts'][0]);
    },
  });
  const r = h.runIn(b);
  expect(r.stderr).toBe('');
  expect(r.stdout).toBe('/r/own0 3000\n/r/sub/f 3000\n/i/own0 3000\n/i/sub/f 0\n');
});

test('invalid idmapped mounts are refused by create with one line naming the mount', () => {
  const vol = volume('vol');
  const refused = (mount: Record<string, unknown>, field: string, edit?: (s: OciSpec) => void) =>
    h.expectCreateRefused((s) => {
      s.mounts.push(mount as OciSpec['mounts'][0]);
      edit?.(s);
    }, field);

  const n = 7; // after the seven default mounts
  refused({ destination: '/m', type: 'bind', source: vol, options: ['bind', 'idmap'], uidMappings: map(0, 1000, 10) }, `mounts[${n}].gidMappings`);
  refused({ destination: '/m', type: 'bind', source: vol, options: ['bind', 'idmap'], uidMappings: map(0, 1000, 0), gidMappings: map(0, 1000, 10) }, `mounts[${n}].uidMappings[0]`);
  refused({ destination: '/m', type: 'tmpfs', source: 'tmpfs', options: ['idmap'], uidMappings: map(0, 1000, 10), gidMappings: map(0, 1000, 10) }, `mounts[${n}]`);
  refused({ destination: '/m', type: 'bind', source: vol, options: ['bind', 'idmap'] }, `mounts[${n}]: option idmap needs`);
  refused({ destination: '/m', type: 'bind', source: path.join(h.tmp, 'missing'), options: ['bind', 'ridmap'], uidMappings: map(0, 1000, 10), gidMappings: map(0, 1000, 10) }, `mounts[${n}]`);
});
