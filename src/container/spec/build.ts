import { NamespaceMode } from '../../gen/runtime/v1/api';
import { capabilitySets } from './capabilities';
import { planDevices } from './devices';
import type { SpecInput } from './input';
import { planMounts } from './mounts';
import { planNamespaces } from './namespaces';
import type { OciSpec } from './oci';
import { processArgs, processCwd, processEnv } from './process';
import { ociResources, oomScoreAdj } from './resources';
import { apparmorFor, procfsProtection, seccompFor } from './security';

export const OCI_VERSION = '1.2.0';

/** The container's cgroup, below its pod's. */
export function containerCgroupPath(podCgroup: string, id: string): string {
  return `${podCgroup.replace(/\/+$/, '')}/${id}`;
}

/**
 * config.json for a container: the CRI config merged with the image's defaults and the pod's
 * namespaces and files. Throws InvalidArgument naming the field for anything it cannot honour.
 */
export function buildSpec(input: SpecInput): OciSpec {
  const { config, pod, image, host } = input;
  const sc = config.linux?.securityContext;
  const privileged = sc?.privileged ?? false;
  const resources = config.linux?.resources;
  const ipcMode = sc?.namespaceOptions?.ipc ?? NamespaceMode.POD;

  const capabilities = capabilitySets(sc?.capabilities, privileged, host.boundingCaps);
  const seccomp = seccompFor(sc, capabilities.bounding);
  const apparmorProfile = apparmorFor(sc, host.apparmorEnabled);
  const mounts = planMounts(config, pod, sc, ipcMode);
  const devices = planDevices(config.devices, privileged);
  const oomAdj = oomScoreAdj(resources);
  const annotations = { ...config.annotations, 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': pod.id };

  return {
    ociVersion: OCI_VERSION,
    process: {
      terminal: config.tty,
      user: { uid: input.user.uid, gid: input.user.gid, additionalGids: input.user.additionalGids },
      args: processArgs(config, image),
      env: processEnv(config, image, pod.hostname),
      cwd: processCwd(config, image),
      capabilities,
      noNewPrivileges: sc?.noNewPrivs ?? false,
      ...(oomAdj !== undefined ? { oomScoreAdj: oomAdj } : {}),
      ...(apparmorProfile !== undefined ? { apparmorProfile } : {}),
    },
    root: { path: input.rootfs, readonly: sc?.readonlyRootfs ?? false },
    mounts: mounts.mounts,
    annotations,
    linux: {
      namespaces: planNamespaces(sc?.namespaceOptions, pod, host, input.targetPid),
      devices: devices.devices,
      cgroupsPath: containerCgroupPath(pod.cgroupParent, input.id),
      resources: { ...ociResources(resources), devices: devices.rules },
      ...(seccomp ? { seccomp } : {}),
      ...procfsProtection(sc),
      ...(mounts.rootfsPropagation ? { rootfsPropagation: mounts.rootfsPropagation } : {}),
    },
  };
}
