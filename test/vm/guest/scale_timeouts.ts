/**
 * Loaded (setupFilesAfterEnv) only by the jest runs inside the cgroup2 VM, where code runs 10–15×
 * slower under software emulation. The default timeout is raised on the command line; this scales
 * the explicit ones tests pass to test/it and the hooks, by SHOAL_VM_TIMEOUT_SCALE, so that no test
 * file has to know it may run in the VM.
 */
const scale = Number(process.env.SHOAL_VM_TIMEOUT_SCALE ?? '1');

type Scalable = (...args: unknown[]) => unknown;

/** A wrapper of `fn` whose numeric argument at `at` (a timeout in ms) is multiplied by `scale`. */
function scaleArg<F extends Scalable>(fn: F, at: number): F {
  const wrapped = function (this: unknown, ...args: unknown[]) {
    if (typeof args[at] === 'number') args[at] = (args[at] as number) * scale;
    return fn.apply(this, args);
  };
  // Keep test.only, test.each, test.skip… reachable through the wrapper.
  return Object.assign(wrapped, fn) as F;
}

if (Number.isFinite(scale) && scale > 1) {
  const g = globalThis as unknown as Record<string, Scalable & Record<string, Scalable>>;
  for (const name of ['test', 'it']) {
    const original = g[name];
    const wrapped = scaleArg(original, 2);
    for (const variant of ['only', 'failing', 'concurrent']) {
      if (typeof original[variant] === 'function') wrapped[variant] = scaleArg(original[variant], 2);
    }
    g[name] = wrapped;
  }
  for (const hook of ['beforeAll', 'afterAll', 'beforeEach', 'afterEach']) g[hook] = scaleArg(g[hook], 1);
}

export {};
