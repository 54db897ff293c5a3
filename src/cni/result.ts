/** The pod addresses in a CNI ADD result (spec versions 0.3.0 and later share the "ips" shape). */
export interface PodAddresses {
  /** The first IPv4 address (or IPv6 when there is none); "" when the result has no address. */
  primary: string;
  additional: string[];
}

interface ResultShape {
  interfaces?: Array<{ name?: string; sandbox?: string }>;
  ips?: Array<{ address?: string; interface?: number }>;
}

export function podAddresses(result: unknown): PodAddresses {
  const r = (result ?? {}) as ResultShape;
  const interfaces = Array.isArray(r.interfaces) ? r.interfaces : [];
  const all: string[] = [];
  for (const ip of Array.isArray(r.ips) ? r.ips : []) {
    if (typeof ip.address !== 'string') continue;
    // Addresses on host-side interfaces (a bridge's gateway) are not the pod's.
    if (typeof ip.interface === 'number') {
      const iface = interfaces[ip.interface];
      if (iface && !iface.sandbox) continue;
    }
    const addr = ip.address.split('/')[0]!;
    if (!all.includes(addr)) all.push(addr);
  }
  const v4 = all.filter((a) => !a.includes(':'));
  const v6 = all.filter((a) => a.includes(':'));
  const ordered = [...v4, ...v6];
  return { primary: ordered[0] ?? '', additional: ordered.slice(1) };
}
