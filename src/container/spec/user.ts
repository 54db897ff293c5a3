import type { LinuxContainerSecurityContext } from '../../gen/runtime/v1/api';
import { SupplementalGroupsPolicy } from '../../gen/runtime/v1/api';
import { invalidArgument } from '../../errors';

/** The identity the container's process runs as, after every name was looked up. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  /** The process's group list (setgroups): the primary group first, then the rest sorted. */
  additionalGids: number[];
}

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** The image's account databases (the rootfs's /etc/passwd and /etc/group, possibly absent). */
export interface AccountFiles {
  passwd?: string;
  group?: string;
}

export function parsePasswd(text: string | undefined): PasswdEntry[] {
  if (!text) return [];
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 4 || !/^\d+$/.test(f[2]) || !/^\d+$/.test(f[3])) continue;
    out.push({ name: f[0], uid: Number(f[2]), gid: Number(f[3]) });
  }
  return out;
}

export function parseGroup(text: string | undefined): GroupEntry[] {
  if (!text) return [];
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 3 || !/^\d+$/.test(f[2])) continue;
    out.push({ name: f[0], gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) });
  }
  return out;
}

const ID_MAX = 2 ** 32 - 2;

function numericId(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n <= ID_MAX ? n : undefined;
}

/**
 * Who the process runs as, with kubelet's precedence: run_as_user / run_as_username win over the
 * image's USER; run_as_group overrides the primary group but needs a user from the request.
 * Names are looked up in the image's own /etc/passwd and /etc/group.
 */
export function resolveUser(
  security: LinuxContainerSecurityContext | undefined,
  imageUser: string | undefined,
  files: AccountFiles,
): ResolvedUser {
  const passwd = parsePasswd(files.passwd);
  const groups = parseGroup(files.group);
  const runAsUser = security?.runAsUser;
  const runAsGroup = security?.runAsGroup;
  const runAsUsername = security?.runAsUsername ?? '';

  let uid: number;
  let gid: number | undefined;
  let username: string | undefined;

  if (runAsUser !== undefined || runAsUsername !== '') {
    if (runAsUser !== undefined) {
      if (runAsUser.value < 0n || runAsUser.value > BigInt(ID_MAX)) {
        throw invalidArgument(`security_context.run_as_user: ${runAsUser.value} is not a valid uid`);
      }
      uid = Number(runAsUser.value);
      const entry = passwd.find((p) => p.uid === uid);
      username = entry?.name;
      gid = entry?.gid;
    } else {
      const entry = passwd.find((p) => p.name === runAsUsername);
      if (!entry) throw invalidArgument(`security_context.run_as_username: user "${runAsUsername}" not found in the image's /etc/passwd`);
      uid = entry.uid;
      gid = entry.gid;
      username = entry.name;
    }
  } else {
    if (runAsGroup !== undefined) {
      throw invalidArgument(`security_context.run_as_group ${runAsGroup.value} is set without run_as_user or run_as_username`);
    }
    ({ uid, gid, username } = fromImageUser(imageUser ?? '', passwd, groups));
  }

  if (runAsGroup !== undefined) {
    if (runAsGroup.value < 0n || runAsGroup.value > BigInt(ID_MAX)) {
      throw invalidArgument(`security_context.run_as_group: ${runAsGroup.value} is not a valid gid`);
    }
    gid = Number(runAsGroup.value);
  }
  const primary = gid ?? 0;

  const extra = new Set<number>();
  const policy = security?.supplementalGroupsPolicy ?? SupplementalGroupsPolicy.Merge;
  if (policy !== SupplementalGroupsPolicy.Strict && username !== undefined) {
    for (const g of groups) if (g.members.includes(username)) extra.add(g.gid);
  }
  for (const g of security?.supplementalGroups ?? []) {
    if (g < 0n || g > BigInt(ID_MAX)) throw invalidArgument(`security_context.supplemental_groups: ${g} is not a valid gid`);
    extra.add(Number(g));
  }
  extra.delete(primary);
  return { uid, gid: primary, additionalGids: [primary, ...[...extra].sort((a, b) => a - b)] };
}

/** The image's USER: "", "name", "uid", "name:group", "uid:gid" (any mix). */
function fromImageUser(spec: string, passwd: PasswdEntry[], groups: GroupEntry[]): { uid: number; gid?: number; username?: string } {
  if (spec === '') {
    const root = passwd.find((p) => p.uid === 0);
    return { uid: 0, gid: root?.gid ?? 0, username: root?.name };
  }
  const [userPart, groupPart] = spec.split(':', 2);
  let uid: number;
  let gid: number | undefined;
  let username: string | undefined;
  const numericUid = numericId(userPart);
  if (numericUid !== undefined) {
    uid = numericUid;
    const entry = passwd.find((p) => p.uid === uid);
    username = entry?.name;
    gid = entry?.gid;
  } else {
    const entry = passwd.find((p) => p.name === userPart);
    if (!entry) throw invalidArgument(`image user "${spec}": user "${userPart}" not found in the image's /etc/passwd`);
    uid = entry.uid;
    gid = entry.gid;
    username = entry.name;
  }
  if (groupPart !== undefined && groupPart !== '') {
    const numericGid = numericId(groupPart);
    if (numericGid !== undefined) gid = numericGid;
    else {
      const g = groups.find((e) => e.name === groupPart);
      if (!g) throw invalidArgument(`image user "${spec}": group "${groupPart}" not found in the image's /etc/group`);
      gid = g.gid;
    }
  }
  return { uid, gid, username };
}
