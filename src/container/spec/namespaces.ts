import type { NamespaceOption } from '../../gen/runtime/v1/api';
import { NamespaceMode } from '../../gen/runtime/v1/api';
import { invalidArgument } from '../../errors';
import type { OciNamespace } from './oci';
import type { PodView, HostFacts } from './input';

/**
 * The container's namespaces: the pod's pinned network, ipc and uts; its own mount namespace;
 * pid as asked (own, the pod's, the host's, or another container's).
 */
export function planNamespaces(opts: NamespaceOption | undefined, pod: PodView, host: HostFacts, targetPid: number | undefined): OciNamespace[] {
  const out: OciNamespace[] = [{ type: 'mount' }];
  if (pod.netnsPath) out.push({ type: 'network', path: pod.netnsPath });
  if (pod.utsnsPath) out.push({ type: 'uts', path: pod.utsnsPath });
  const ipc = opts?.ipc ?? NamespaceMode.POD;
  if (ipc === NamespaceMode.CONTAINER) out.push({ type: 'ipc' });
  else if (ipc === NamespaceMode.POD && pod.ipcnsPath) out.push({ type: 'ipc', path: pod.ipcnsPath });
  // NODE (or a pod on the host's ipc): no entry, the host's namespace is kept.

  const pid = containerPidMode(opts, pod);
  switch (pid) {
    case NamespaceMode.CONTAINER:
      out.push({ type: 'pid' });
      break;
    case NamespaceMode.POD:
      // containerPidMode answers POD only for a pod that has a shared namespace.
      out.push({ type: 'pid', path: pod.pidnsPath! });
      break;
    case NamespaceMode.NODE:
      break;
    case NamespaceMode.TARGET:
      if (targetPid === undefined) throw invalidArgument(`namespace_options.target_id: container "${opts?.targetId ?? ''}" is not running`);
      out.push({ type: 'pid', path: `/proc/${targetPid}/ns/pid` });
      break;
    default:
      throw invalidArgument(`namespace_options.pid: unknown mode ${String(pid)}`);
  }
  if (host.cgroupV2) out.push({ type: 'cgroup' });
  return out;
}

/**
 * The container's PID namespace mode. POD, the CRI's zero value and so also what an absent
 * namespace_options means, is the pod's namespace: the pod init's when the pod shares one, the
 * host's for a pod on the host's (where a pause container would be too), and one of the
 * container's own in a pod whose containers each have theirs, as there is no pod-wide one to join.
 */
export function containerPidMode(opts: NamespaceOption | undefined, pod: PodView): NamespaceMode {
  const asked = opts?.pid ?? NamespaceMode.POD;
  if (asked !== NamespaceMode.POD || pod.pidnsPath) return asked;
  return pod.pidMode === NamespaceMode.NODE ? NamespaceMode.NODE : NamespaceMode.CONTAINER;
}
