import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const REPO = join(__dirname, '../..');

test('the committed src/gen is what `make proto` produces from proto/', () => {
  const out = mkdtempSync('/tmp/shoal-gen-');
  try {
    const run = spawnSync(join(REPO, 'proto/generate.sh'), [out], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const fresh = readFileSync(join(out, 'runtime/v1/api.ts'), 'utf8');
    const committed = readFileSync(join(REPO, 'src/gen/runtime/v1/api.ts'), 'utf8');
    // A mismatch means proto/ changed without `make proto`, or the generator changed.
    expect(committed === fresh).toBe(true);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('the proto declares the full CRI v1 surface: 35 RuntimeService and 6 ImageService RPCs', () => {
  const proto = readFileSync(join(REPO, 'proto/runtime/v1/api.proto'), 'utf8');
  const services = [...proto.matchAll(/service (\w+) \{([\s\S]*?)\n\}/g)].map((m) => [m[1], (m[2].match(/^\s*rpc /gm) ?? []).length]);
  expect(Object.fromEntries(services)).toEqual({ RuntimeService: 35, ImageService: 6 });
  expect(proto).toMatch(/^package runtime\.v1;$/m);
});
