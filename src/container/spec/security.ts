import { readFileSync } from 'node:fs';
import type { LinuxContainerSecurityContext, SecurityProfile } from '../../gen/runtime/v1/api';
import { SecurityProfile_ProfileType } from '../../gen/runtime/v1/api';
import { invalidArgument, errorText } from '../../errors';
import type { OciSeccomp } from './oci';
import { defaultSeccompProfile } from './seccomp_default';

type Choice = { kind: 'default' } | { kind: 'unconfined' } | { kind: 'localhost'; path: string };

/** The seccomp choice from the structured field, else the deprecated path string. */
function seccompChoice(sc: LinuxContainerSecurityContext | undefined): Choice {
  const profile: SecurityProfile | undefined = sc?.seccomp;
  if (profile !== undefined) {
    switch (profile.profileType) {
      case SecurityProfile_ProfileType.RuntimeDefault:
        return { kind: 'default' };
      case SecurityProfile_ProfileType.Unconfined:
        return { kind: 'unconfined' };
      case SecurityProfile_ProfileType.Localhost:
        return { kind: 'localhost', path: profile.localhostRef };
      default:
        throw invalidArgument(`security_context.seccomp.profile_type: unknown type ${String(profile.profileType)}`);
    }
  }
  const legacy = sc?.seccompProfilePath ?? '';
  if (legacy === '' || legacy === 'unconfined') return { kind: 'unconfined' };
  if (legacy === 'runtime/default' || legacy === 'docker/default') return { kind: 'default' };
  if (legacy.startsWith('localhost/')) return { kind: 'localhost', path: legacy.slice('localhost/'.length) };
  throw invalidArgument(`security_context.seccomp_profile_path: "${legacy}" is not runtime/default, unconfined or localhost/<path>`);
}

/** The seccomp filter for config.json, or undefined for none (unconfined or privileged). */
export function seccompFor(sc: LinuxContainerSecurityContext | undefined, capabilities: readonly string[]): OciSeccomp | undefined {
  if (sc?.privileged) return undefined;
  const choice = seccompChoice(sc);
  if (choice.kind === 'unconfined') return undefined;
  if (choice.kind === 'default') return defaultSeccompProfile(capabilities);
  if (!choice.path.startsWith('/')) {
    throw invalidArgument(`security_context.seccomp: localhost profile "${choice.path}" must be an absolute path`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(choice.path, 'utf8'));
  } catch (err) {
    throw invalidArgument(`security_context.seccomp: localhost profile ${choice.path}: ${errorText(err)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { defaultAction?: unknown }).defaultAction !== 'string') {
    throw invalidArgument(`security_context.seccomp: localhost profile ${choice.path} has no "defaultAction"`);
  }
  return parsed as OciSeccomp;
}

/**
 * The AppArmor profile name for config.json. Without AppArmor on the host only "no profile"
 * choices are accepted: a named profile cannot be honoured and must not be silently dropped.
 */
export function apparmorFor(sc: LinuxContainerSecurityContext | undefined, apparmorEnabled: boolean): string | undefined {
  if (sc?.privileged) return undefined;
  let localhost: string | undefined;
  if (sc?.apparmor !== undefined) {
    if (sc.apparmor.profileType === SecurityProfile_ProfileType.Localhost) localhost = sc.apparmor.localhostRef;
  } else {
    const legacy = sc?.apparmorProfile ?? '';
    if (legacy.startsWith('localhost/')) localhost = legacy.slice('localhost/'.length);
    else if (legacy !== '' && legacy !== 'runtime/default' && legacy !== 'unconfined') {
      throw invalidArgument(`security_context.apparmor_profile: "${legacy}" is not runtime/default, unconfined or localhost/<name>`);
    }
  }
  if (localhost === undefined) return undefined;
  if (!apparmorEnabled) {
    throw invalidArgument(`security_context.apparmor: profile "${localhost}" requested but AppArmor is not enabled on this host`);
  }
  if (localhost === '') throw invalidArgument('security_context.apparmor: localhost profile without a name');
  return localhost;
}

function checkPaths(paths: readonly string[], field: string): string[] {
  for (const p of paths) if (!p.startsWith('/')) throw invalidArgument(`security_context.${field}: "${p}" is not an absolute path`);
  return [...paths];
}

/** maskedPaths and readonlyPaths exactly as kubelet sends them; none for privileged containers. */
export function procfsProtection(sc: LinuxContainerSecurityContext | undefined): { maskedPaths?: string[]; readonlyPaths?: string[] } {
  if (sc?.privileged) return {};
  const masked = checkPaths(sc?.maskedPaths ?? [], 'masked_paths');
  const readonly = checkPaths(sc?.readonlyPaths ?? [], 'readonly_paths');
  return {
    ...(masked.length > 0 ? { maskedPaths: masked } : {}),
    ...(readonly.length > 0 ? { readonlyPaths: readonly } : {}),
  };
}
