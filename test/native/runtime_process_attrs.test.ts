/** Per-process kernel attributes of runtime-spec 1.2: linux.personality, process.ioPriority,
 *  process.scheduler and linux.memoryPolicy, each observed from inside the container, and each
 *  invalid value refused by `create` with one line naming the field. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OciSpec } from '../helpers/bundle';
import { RuntimeHarness } from './runtime_harness';

let h: RuntimeHarness;
beforeEach(() => {
  h = new RuntimeHarness();
});
afterEach(() => h.cleanup());

function runWith(script: string, edit: (s: OciSpec) => void): { code: number; stdout: string; stderr: string } {
  return h.runIn(h.bundle({ args: ['sh', '-c', script], edit }));
}

const expectRefused = (edit: (s: OciSpec) => void, field: string): void => h.expectCreateRefused(edit, field);

/** Fields 19 (nice), 40 (rt_priority) and 41 (policy) of /proc/PID/stat, read by the shell itself
 *  (a redirection, no fork: a SCHED_DEADLINE task may not fork). */
const SELF_SCHED = 'read l < /proc/$$/stat; set -- ${l#*) }; shift 16; n=$1; shift 21; echo "nice=$n rtprio=$1 policy=$2"';

describe('linux.personality', () => {
  test('LINUX32 makes uname report a 32-bit machine; LINUX keeps the native one', () => {
    const r = runWith('uname -m; cat /proc/self/personality', (s) => (s.linux.personality = { domain: 'LINUX32' }));
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('i686\n00000008\n');
    const r2 = runWith('uname -m; cat /proc/self/personality', (s) => (s.linux.personality = { domain: 'LINUX', flags: [] }));
    expect(r2.stdout).toBe('x86_64\n00000000\n');
  });

  test('an exec into the container gets the personality too', () => {
    const b = h.bundle({ args: ['sleep', '30'], edit: (s) => (s.linux.personality = { domain: 'LINUX32' }) });
    const id = h.id();
    expect(h.run(['create', '--bundle', b.dir, id]).stderr).toBe('');
    expect(h.run(['start', id]).code).toBe(0);
    const r = h.run(['exec', id, 'uname', '-m']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('i686\n');
  });

  test('an unknown domain or any flag is refused', () => {
    expectRefused((s) => (s.linux.personality = { domain: 'LINUX64' }), 'linux.personality.domain');
    expectRefused((s) => (s.linux.personality = {}), 'linux.personality.domain');
    expectRefused((s) => (s.linux.personality = { domain: 'LINUX', flags: ['ADDR_NO_RANDOMIZE'] }), 'linux.personality.flags');
  });
});

describe('process.ioPriority', () => {
  test.each([
    ['IOPRIO_CLASS_BE', 6, 'best-effort: prio 6'],
    ['IOPRIO_CLASS_RT', 2, 'realtime: prio 2'],
    ['IOPRIO_CLASS_IDLE', 0, 'idle'],
  ])('%s %d is the process’s I/O priority and its children’s', (cls, priority, shown) => {
    const r = runWith('ionice -p $$; sh -c "ionice -p \\$\\$"; true', (s) => (s.process.ioPriority = { class: cls, priority }));
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${shown}\n${shown}\n`);
  });

  test('without ioPriority the process keeps the default (none)', () => {
    expect(runWith('ionice -p $$', () => undefined).stdout).toBe('none: prio 0\n');
  });

  test('an unknown class or a level outside 0..7 is refused', () => {
    expectRefused((s) => (s.process.ioPriority = { class: 'IOPRIO_CLASS_FAST', priority: 1 }), 'process.ioPriority.class');
    expectRefused((s) => (s.process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 8 }), 'process.ioPriority.priority');
    expectRefused((s) => (s.process.ioPriority = { class: 'IOPRIO_CLASS_BE' }), 'process.ioPriority.priority');
  });
});

describe('process.scheduler', () => {
  test('SCHED_BATCH with a nice value', () => {
    const r = runWith(SELF_SCHED, (s) => (s.process.scheduler = { policy: 'SCHED_BATCH', nice: 7 }));
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('nice=7 rtprio=0 policy=3\n');
  });

  test('SCHED_IDLE', () => {
    expect(runWith(SELF_SCHED, (s) => (s.process.scheduler = { policy: 'SCHED_IDLE' })).stdout).toMatch(/ rtprio=0 policy=5\n$/);
  });

  test('SCHED_FIFO with a priority, in a cgroup given realtime runtime', () => {
    const r = runWith(SELF_SCHED, (s) => {
      s.process.scheduler = { policy: 'SCHED_RR', priority: 12 };
      s.linux.resources = { cpu: { realtimeRuntime: 10000, realtimePeriod: 1000000 } };
    });
    if (r.stderr.includes('realtime bandwidth has no cgroup v2 interface')) return; // a v2 host: no RT groups
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('nice=0 rtprio=12 policy=2\n');
  });

  test('SCHED_DEADLINE with runtime, deadline, period and SCHED_FLAG_RESET_ON_FORK', () => {
    const r = runWith(`${SELF_SCHED}; sh -c '${SELF_SCHED.replace(/\$\$/g, '$$$$')}'; echo end`, (s) => {
      s.process.scheduler = {
        policy: 'SCHED_DEADLINE',
        runtime: 2_000_000,
        deadline: 50_000_000,
        period: 100_000_000,
        flags: ['SCHED_FLAG_RESET_ON_FORK'],
      };
    });
    expect(r.stderr).toBe('');
    // the shell runs under the deadline policy; its child is reset to SCHED_OTHER
    expect(r.stdout).toBe('nice=0 rtprio=0 policy=6\nnice=0 rtprio=0 policy=0\nend\n');
  });

  test('invalid policies, priorities, nice values, flags and deadline parameters are refused', () => {
    expectRefused((s) => (s.process.scheduler = { policy: 'SCHED_FAST' }), 'process.scheduler.policy');
    expectRefused((s) => (s.process.scheduler = { policy: 'SCHED_FIFO' }), 'process.scheduler.priority');
    expectRefused((s) => (s.process.scheduler = { policy: 'SCHED_OTHER', priority: 5 }), 'process.scheduler.priority');
    expectRefused((s) => (s.process.scheduler = { policy: 'SCHED_OTHER', nice: 20 }), 'process.scheduler.nice');
    expectRefused((s) => (s.process.scheduler = { policy: 'SCHED_OTHER', flags: ['SCHED_FLAG_TURBO'] }), 'process.scheduler.flags');
    expectRefused((s) => (s.process.scheduler = { policy: 'SCHED_DEADLINE', runtime: 10, deadline: 5, period: 20 }), 'process.scheduler');
    // SCHED_ISO is in the spec but no mainline kernel implements it: the kernel's refusal names the field
    expectRefused((s) => (s.process.scheduler = { policy: 'SCHED_ISO' }), 'process.scheduler');
  });
});

describe('linux.memoryPolicy', () => {
  const policyOf = (mp: Record<string, unknown>) =>
    runWith('head -n 1 /proc/self/numa_maps', (s) => (s.linux.memoryPolicy = mp));

  test.each([
    [{ mode: 'MPOL_BIND', nodes: '0' }, 'bind:0'],
    [{ mode: 'MPOL_INTERLEAVE', nodes: '0', flags: ['MPOL_F_STATIC_NODES'] }, 'interleave=static:0'],
    [{ mode: 'MPOL_PREFERRED', nodes: '0', flags: ['MPOL_F_RELATIVE_NODES'] }, 'prefer=relative:0'],
    [{ mode: 'MPOL_PREFERRED_MANY', nodes: '0' }, 'prefer (many):0'],
    [{ mode: 'MPOL_WEIGHTED_INTERLEAVE', nodes: '0' }, 'weighted interleave:0'],
    [{ mode: 'MPOL_LOCAL' }, 'local'],
    [{ mode: 'MPOL_DEFAULT' }, 'default'],
  ])('%j is the policy of the container’s processes', (mp, shown) => {
    const r = policyOf(mp);
    expect(r.stderr).toBe('');
    // "<address> <policy> <details>": the policy's text may itself hold a space ("prefer (many)")
    expect(r.stdout.replace(/^[0-9a-f]+ /, '')).toMatch(new RegExp(`^${shown.replace(/[()]/g, '\\$&')} `));
  });

  test('invalid modes, node lists, flags and nodes the host does not have are refused', () => {
    expectRefused((s) => (s.linux.memoryPolicy = { mode: 'MPOL_FASTEST' }), 'linux.memoryPolicy.mode');
    expectRefused((s) => (s.linux.memoryPolicy = { mode: 'MPOL_BIND' }), 'linux.memoryPolicy.nodes');
    expectRefused((s) => (s.linux.memoryPolicy = { mode: 'MPOL_LOCAL', nodes: '0' }), 'linux.memoryPolicy.nodes');
    expectRefused((s) => (s.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '3-1' }), 'linux.memoryPolicy.nodes');
    expectRefused((s) => (s.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0,x' }), 'linux.memoryPolicy.nodes');
    expectRefused((s) => (s.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_FAST'] }), 'linux.memoryPolicy.flags');
    expectRefused(
      (s) => (s.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES', 'MPOL_F_RELATIVE_NODES'] }),
      'linux.memoryPolicy.flags',
    );
    // node 1000 exists on no host this runs on: the kernel refuses it, named by the field
    expectRefused((s) => (s.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '1000' }), 'linux.memoryPolicy');
  });
});

describe('process.execCPUAffinity', () => {
  const CPUS = 'grep Cpus_allowed_list /proc/self/status | cut -f2';
  const hostCpus = () => fs.readFileSync('/proc/self/status', 'utf8').match(/Cpus_allowed_list:\t(.*)/)?.[1];

  test('an exec runs on `final` once in the cgroup; the container’s first process is left alone', () => {
    const b = h.bundle({ args: ['sleep', '60'], edit: (s) => (s.process.execCPUAffinity = { initial: '0', final: '1' }) });
    const id = h.id();
    expect(h.run(['create', '--bundle', b.dir, id]).stderr).toBe('');
    expect(h.run(['start', id]).code).toBe(0);
    const pid = h.state(id).pid as number;
    expect(fs.readFileSync(`/proc/${pid}/status`, 'utf8')).toContain(`Cpus_allowed_list:\t${hostCpus()}\n`);
    const r = h.run(['exec', id, 'sh', '-c', CPUS]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('1\n');
    // --process brings its own
    const proc = path.join(h.tmp, 'process.json');
    const withFinal = (aff: Record<string, string>) =>
      fs.writeFileSync(proc, JSON.stringify({ ...b.spec.process, args: ['sh', '-c', CPUS], execCPUAffinity: aff }));
    withFinal({ final: '0' });
    expect(h.run(['exec', '--process', proc, id]).stdout).toBe('0\n');
    // a bad value or a CPU this host does not have fails the exec, naming the field
    for (const [aff, field] of [
      [{ initial: 'zero' }, 'process.execCPUAffinity.initial'],
      [{ final: '1-0' }, 'process.execCPUAffinity.final'],
      [{ final: '1000' }, 'process.execCPUAffinity.final'],
    ] as const) {
      withFinal(aff);
      const bad = h.run(['exec', '--process', proc, id]);
      expect(bad.code).toBe(1);
      expect(bad.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(bad.stderr).toContain(field);
    }
  });

  test('a malformed execCPUAffinity fails create', () => {
    expectRefused((s) => (s.process.execCPUAffinity = { initial: '0,,1' }), 'process.execCPUAffinity.initial');
    expectRefused((s) => (s.process.execCPUAffinity = { final: 3 }), 'process.execCPUAffinity.final');
  });
});
