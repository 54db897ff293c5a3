import { Socket } from 'node:net';
import { notFound, failedPrecondition } from '../../errors';
import { socket, syscallError } from '../../native/libc';
import { inNetworkNamespace } from '../../native/netns';
import type { SandboxManager } from '../../sandbox/manager';

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;

/**
 * TCP connections into a pod's network namespace for port forwarding, without a helper process:
 * a socket belongs to the namespace it was created in, so the main thread steps into the pod's
 * namespace (setns), creates the socket (socket(2) through koffi) and steps back, all within one
 * synchronous stretch in which no other JavaScript can run. Node then wraps the descriptor and
 * connects it like any other socket. (net.connect itself cannot be used: libuv creates the
 * descriptor later, on the next tick, when the thread is back in the host's namespace.)
 *
 * localhost is tried as 127.0.0.1 first and then ::1, as kubelet-era runtimes dial "localhost".
 */
export class PodDialer {
  constructor(private readonly sandboxes: SandboxManager) {}

  close(): void {
    /* nothing held: the namespace files are opened per connection */
  }

  async dial(podSandboxId: string, port: number): Promise<Socket> {
    const pod = this.sandboxes.find(podSandboxId);
    if (!pod) throw notFound(`pod sandbox "${podSandboxId}" not found`);
    if (pod.state !== 'ready') throw failedPrecondition(`pod sandbox ${pod.id} is not ready: cannot forward to it`);
    const netns = pod.namespaces.net;
    try {
      return await this.connect(netns, AF_INET, '127.0.0.1', port);
    } catch (err) {
      try {
        return await this.connect(netns, AF_INET6, '::1', port);
      } catch {
        throw err; // the IPv4 failure is the one to report
      }
    }
  }

  private connect(netns: string | undefined, family: number, host: string, port: number): Promise<Socket> {
    const fd = netns ? this.socketIn(netns, family) : -1;
    return new Promise((resolve, reject) => {
      const sock = fd >= 0 ? new Socket({ fd, allowHalfOpen: true, readable: true, writable: true }) : new Socket({ allowHalfOpen: true });
      sock.once('error', (err) => {
        sock.destroy();
        reject(err);
      });
      sock.connect({ host, port }, () => {
        sock.removeAllListeners('error');
        resolve(sock);
      });
    });
  }

  /** A new TCP socket of `family` in the network namespace at `netnsPath`. */
  private socketIn(netnsPath: string, family: number): number {
    return inNetworkNamespace(netnsPath, 'open a port-forward socket', () => {
      const fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) throw syscallError(`socket in the pod network namespace ${netnsPath}`);
      return fd;
    });
  }
}
