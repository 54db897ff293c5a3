import { dirname, join } from 'node:path';

/**
 * tar-stream decodes every pax record value as UTF-8, which corrupts binary xattr values
 * (security.capability is a packed struct). Its extractor looks the decoder up on the shared
 * headers module at call time, so replacing that one function keeps xattr values byte-exact:
 * `SCHILY.xattr.*` values are returned as latin1 strings (one char per byte, reversible with
 * Buffer.from(v, 'latin1')); every other record stays UTF-8 as before.
 */
type PaxRecords = Record<string, string>;
interface HeadersModule {
  decodePax: (buf: Buffer) => PaxRecords;
}

export const XATTR_PREFIX = 'SCHILY.xattr.';

function decodePaxKeepingBinaryXattrs(buf: Buffer): PaxRecords {
  const result: PaxRecords = {};
  let rest = buf;
  while (rest.length > 0) {
    const space = rest.indexOf(0x20);
    if (space <= 0) return result;
    const len = parseInt(rest.subarray(0, space).toString('ascii'), 10);
    if (!(len > space + 1) || len > rest.length) return result;
    const record = rest.subarray(space + 1, len - 1); // without the trailing newline
    const eq = record.indexOf(0x3d);
    if (eq < 0) return result;
    const key = record.subarray(0, eq).toString('utf8');
    const value = record.subarray(eq + 1);
    result[key] = key.startsWith(XATTR_PREFIX) ? value.toString('latin1') : value.toString('utf8');
    rest = rest.subarray(len);
  }
  return result;
}

let installed = false;

export function installBinarySafePaxDecoder(): void {
  if (installed) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const headers = require(join(dirname(require.resolve('tar-stream')), 'headers.js')) as HeadersModule;
  headers.decodePax = decodePaxKeepingBinaryXattrs;
  installed = true;
}
