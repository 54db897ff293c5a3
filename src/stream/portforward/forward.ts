import type { Duplex, Writable } from 'node:stream';

/**
 * Copies bytes both ways between a client's data stream and a TCP connection in the pod, with
 * half-closes carried across: the client's FIN ends our write to the pod (the pod may still
 * answer), the pod's FIN ends the data stream and the forwarding. Resolves when the pod side is
 * over (its output handed to the data stream) or the client dropped the data stream.
 */
export function splice(data: Duplex, target: Duplex): Promise<void> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      data.unpipe(target);
      target.destroy();
      resolve();
    };
    data.pipe(target);
    target.pipe(data);
    // The pod's end of the connection (FIN or close) ends the forwarding: the client learns it
    // from the end of the data stream, and over WebSocket there is no other way to tell it.
    const podDone = (): void => {
      if (!data.writableEnded && !data.destroyed) data.end();
      finish();
    };
    target.once('end', podDone);
    target.once('close', podDone);
    data.once('close', finish);
    target.on('error', () => undefined);
    data.on('error', () => undefined);
  });
}

/** The message kubelet writes on a port-forward error stream. */
export function forwardError(port: number, podSandboxId: string, err: unknown): string {
  const cause = err instanceof Error ? err.message : String(err);
  return `error forwarding port ${port} to pod ${podSandboxId}, uid : ${cause}`;
}

export function writeAndEnd(stream: Writable, text: string | undefined): void {
  if (stream.destroyed || stream.writableEnded) return;
  if (text) stream.write(Buffer.from(text));
  stream.end();
}
