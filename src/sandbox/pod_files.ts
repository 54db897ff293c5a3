import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DNSConfig } from '../gen/runtime/v1/api';
import type { PodFiles } from './record';

// The pod files are a few hundred bytes each: written inline, which is quicker than thread-pool
// round trips in the middle of RunPodSandbox.

export function podFilePaths(podDir: string, shm: string): PodFiles {
  return {
    hostname: join(podDir, 'hostname'),
    hosts: join(podDir, 'hosts'),
    resolvConf: join(podDir, 'resolv.conf'),
    shm,
  };
}

/** /etc/resolv.conf for the pod: from dns_config, or the host's when the pod gives none. */
export function writeResolvConf(path: string, dns: DNSConfig | undefined, hostResolvConf = '/etc/resolv.conf'): void {
  const empty = !dns || (dns.servers.length === 0 && dns.searches.length === 0 && dns.options.length === 0);
  if (empty) {
    const host = readOr(hostResolvConf, '');
    writeFileSync(path, host, { mode: 0o644 });
    return;
  }
  const lines: string[] = [];
  if (dns.searches.length > 0) lines.push(`search ${dns.searches.join(' ')}`);
  for (const server of dns.servers) lines.push(`nameserver ${server}`);
  if (dns.options.length > 0) lines.push(`options ${dns.options.join(' ')}`);
  writeFileSync(path, `${lines.join('\n')}\n`, { mode: 0o644 });
}

export function writeHostname(path: string, hostname: string): void {
  writeFileSync(path, `${hostname}\n`, { mode: 0o644 });
}

/** /etc/hosts: the usual loopback entries and the pod's address under its hostname. */
export function writeHosts(path: string, hostname: string, addresses: string[]): void {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
    ...addresses.map((a) => `${a}\t${hostname}`),
  ];
  writeFileSync(path, `${lines.join('\n')}\n`, { mode: 0o644 });
}

/** A host-network pod sees the host's names. */
export function copyHostHosts(path: string, hostHosts = '/etc/hosts'): void {
  const host = readOr(hostHosts, '127.0.0.1\tlocalhost\n');
  writeFileSync(path, host, { mode: 0o644 });
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}
