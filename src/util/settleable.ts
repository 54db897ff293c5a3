/**
 * A promise settled from outside: something one step starts waiting for before another step,
 * further on in the same function, can say whether it happened (the pinned netns, the synced CNI
 * cache entry). A rejection nobody has awaited yet is not an unhandled one: the waiter reports it.
 */
export interface Settleable {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export function settleable(): Settleable {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
