import { spawnSync } from 'node:child_process';

export const PORTMAP_CHAINS = ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-MASQ', 'CNI-HOSTPORT-SETMARK'];

/**
 * portmap's shared top-level chains outlive the pods that made them (test/sandbox/net_env.ts leaves
 * them while test files run side by side; global_setup.ts provides them). Once the suite is over
 * they go too, unless they still route a port of some pod (a rule in CNI-HOSTPORT-DNAT): portmap
 * makes them again when needed.
 */
export default function removeIdlePortmapChains(): void {
  for (const family of ['iptables', 'ip6tables'] as const) {
    const rules = spawnSync(family, ['-t', 'nat', '-S'], { encoding: 'utf8' }).stdout ?? '';
    const lines = rules.split('\n');
    if (!lines.includes('-N CNI-HOSTPORT-DNAT') || lines.some((l) => l.startsWith('-A CNI-HOSTPORT-DNAT '))) continue;
    for (const line of lines) {
      const target = / -j (\S+)/.exec(line)?.[1];
      if (!line.startsWith('-A ') || !target || !PORTMAP_CHAINS.includes(target)) continue;
      const rule = line.slice(3).match(/(?:[^\s"]+|"[^"]*")+/g) ?? [];
      spawnSync(family, ['-t', 'nat', '-D', ...rule.map((a) => a.replace(/^"(.*)"$/, '$1'))], { stdio: 'ignore' });
    }
    for (const chain of PORTMAP_CHAINS) {
      spawnSync(family, ['-t', 'nat', '-F', chain], { stdio: 'ignore' });
      spawnSync(family, ['-t', 'nat', '-X', chain], { stdio: 'ignore' });
    }
  }
}
