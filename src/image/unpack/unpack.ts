import { constants as fsc, lstatSync, promises as fsp, readFileSync, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { lsetxattr, mknod, S_IFBLK, S_IFCHR, S_IFIFO } from '../syscalls';
import { installBinarySafePaxDecoder, XATTR_PREFIX } from './pax';

/**
 * Unpacks one OCI layer (an uncompressed tar stream) into an empty directory that becomes an
 * overlayfs lowerdir. The archive is hostile until proven otherwise:
 * - every entry path is split into components; absolute paths and `..` are refused;
 * - every parent component is lstat'ed before use and must be a real directory, so nothing is
 *   ever written through a symlink (the layer dir is fresh and only this unpack writes into it,
 *   so the check cannot race);
 * - the final component is created with O_EXCL|O_NOFOLLOW after removing what was there;
 * - hardlinks may only point at non-directory entries already unpacked into this layer;
 * - device nodes need allowDeviceNodes; fifos and whiteouts are always fine;
 * - `trusted.overlay.*` xattrs from the archive are dropped: only whiteouts decide overlay state.
 * Symlinks are created verbatim: their targets are resolved in the container's root at run time
 * and the unpack never follows them.
 * OCI whiteouts become overlay whiteouts: `.wh.NAME` → char device 0:0 at NAME, `.wh..wh..opq` →
 * `trusted.overlay.opaque=y` on the directory.
 */
export interface UnpackOptions {
  allowDeviceNodes: boolean;
}

export class LayerRefused extends Error {
  constructor(readonly entry: string, reason: string) {
    super(`layer entry "${entry}" refused: ${reason}`);
  }
}

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';

type Header = Omit<tar.Header, 'pax'> & { pax?: Record<string, string> | null };

/** What the unpack wrote: counted, so usage reports need no directory walk. */
export interface UnpackStats {
  entries: number;
  fileBytes: number;
}

export async function unpackLayer(input: Readable, root: string, options: UnpackOptions): Promise<UnpackStats> {
  installBinarySafePaxDecoder();
  const unpacker = new Unpacker(root, options, creationDefaults(root));
  const extract = tar.extract();
  const feeding = pipeline(input, extract);
  feeding.catch(() => undefined); // surfaced below through the iterator or the await
  try {
    for await (const entry of extract) {
      // tar-stream entries are streamx readables; Node's stream helpers accept them
      await unpacker.entry(entry.header as Header, entry as unknown as Readable);
      await unpacker.throttle();
    }
    await feeding;
  } catch (err) {
    extract.destroy();
    input.destroy();
    await unpacker.drain().catch(() => undefined); // no write may outlive the failed unpack
    throw err;
  }
  await unpacker.finish();
  return unpacker.stats;
}

class Unpacker {
  /** Directories verified to be real directories (not symlinks) under root, relative paths. */
  private readonly knownDirs = new Set<string>(['']);
  /**
   * Every non-directory path this unpack created. The layer dir starts empty and only this
   * unpack writes into it, so a path in neither set does not exist and needs no lstat before it
   * is created (creation is O_EXCL or mknod/symlink/link, which fail on an existing name anyway).
   */
  private readonly created = new Set<string>();
  /** Directory times are set last: creating children changes them. */
  private readonly dirTimes: Array<{ path: string; mtime: Date }> = [];

  readonly stats: UnpackStats = { entries: 0, fileBytes: 0 };

  constructor(
    private readonly root: string,
    private readonly options: UnpackOptions,
    private readonly creation: CreationDefaults,
  ) {}

  private mayExist(rel: string): boolean {
    return this.created.has(rel) || this.knownDirs.has(rel);
  }

  async entry(header: Header, body: Readable): Promise<void> {
    const name = header.name;
    this.stats.entries++;
    if (header.type === 'file' || header.type === 'contiguous-file') this.stats.fileBytes += header.size ?? 0;
    const parts = splitPath(name);
    if (parts.length === 0) {
      // the archive's "./" entry: the layer root itself
      if (header.type === 'directory') await this.applyMetadata(this.root, header, 'directory');
      body.resume();
      return;
    }
    const base = parts[parts.length - 1];
    const parentParts = parts.slice(0, -1);
    // Only plain files are written in the background. Anything else (links, dirs, whiteouts,
    // nodes) and any file touching a path still being written waits for every pending write:
    // the checks below then see the tree exactly as the archive order made it.
    const smallFile = (header.type === 'file' || header.type === 'contiguous-file') && !base.startsWith(WHITEOUT_PREFIX);
    if (!smallFile || this.pendingPaths.has(parts.join('/'))) await this.drain();
    this.rethrowBackgroundError();
    await this.ensureParents(name, parentParts);
    const parent = join(this.root, ...parentParts);

    if (base === OPAQUE_MARKER) {
      lsetxattr(parent, 'trusted.overlay.opaque', Buffer.from('y'));
      body.resume();
      return;
    }
    if (base.startsWith(WHITEOUT_PREFIX)) {
      const hidden = base.slice(WHITEOUT_PREFIX.length);
      if (hidden === '' || hidden === '.' || hidden === '..') throw new LayerRefused(name, 'malformed whiteout');
      const target = join(parent, hidden);
      const hiddenRel = [...parentParts, hidden].join('/');
      await this.clear(target, hiddenRel);
      mknod(target, S_IFCHR, 0, 0);
      this.created.add(hiddenRel);
      body.resume();
      return;
    }

    const target = join(parent, base);
    const rel = parts.join('/');
    switch (header.type) {
      case 'directory': {
        const existing = this.mayExist(rel) ? await lstatOrUndefined(target) : undefined;
        if (!existing || !existing.isDirectory()) {
          if (existing) await this.clear(target, rel);
          await fsp.mkdir(target, { mode: 0o700 });
        }
        this.created.delete(rel);
        this.knownDirs.add(rel);
        await this.applyMetadata(target, header, 'directory');
        body.resume();
        return;
      }
      case 'file':
      case 'contiguous-file': {
        await this.clear(target, rel);
        this.created.add(rel);
        const plan = this.filePlan(header);
        if ((header.size ?? 0) <= BACKGROUND_FILE_MAX) {
          // read the (small) content now, write it on the thread pool while parsing goes on
          const chunks: Buffer[] = [];
          for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
          this.writeInBackground(rel, () => writeFile(target, chunks, plan));
          return;
        }
        const fh = await fsp.open(target, CREATE_FLAGS, plan.createMode);
        try {
          // iterated rather than piped: Node's pipeline misses the end of tar-stream's
          // (streamx) entry streams when they are empty
          for await (const chunk of body as AsyncIterable<Buffer>) await fh.write(chunk);
          await finishFile(fh, plan);
        } finally {
          await fh.close();
        }
        await this.applyXattrs(target, header);
        return;
      }
      case 'symlink': {
        if (!header.linkname) throw new LayerRefused(name, 'symlink without a target');
        await this.clear(target, rel);
        await fsp.symlink(header.linkname, target);
        this.created.add(rel);
        await this.applyMetadata(target, header, 'symlink');
        body.resume();
        return;
      }
      case 'link': {
        const linkParts = splitPath(header.linkname ?? '');
        if (linkParts.length === 0) throw new LayerRefused(name, 'hardlink without a target');
        await this.ensureParents(name, linkParts.slice(0, -1), false);
        const source = join(this.root, ...linkParts);
        const st = await lstatOrUndefined(source);
        if (!st) throw new LayerRefused(name, `hardlink target "${header.linkname}" is not an earlier entry of this layer`);
        if (st.isDirectory()) throw new LayerRefused(name, `hardlink target "${header.linkname}" is a directory`);
        if (source === target) {
          body.resume();
          return;
        }
        await this.clear(target, rel);
        await fsp.link(source, target);
        this.created.add(rel);
        body.resume();
        return;
      }
      case 'character-device':
      case 'block-device': {
        if (!this.options.allowDeviceNodes) {
          throw new LayerRefused(name, 'device nodes are not allowed (image.allow_device_nodes = false)');
        }
        await this.clear(target, rel);
        const kind = header.type === 'character-device' ? S_IFCHR : S_IFBLK;
        mknod(target, kind | ((header.mode ?? 0o600) & 0o7777), header.devmajor ?? 0, header.devminor ?? 0);
        this.created.add(rel);
        await this.applyMetadata(target, header, 'node');
        body.resume();
        return;
      }
      case 'fifo': {
        await this.clear(target, rel);
        mknod(target, S_IFIFO | ((header.mode ?? 0o600) & 0o7777));
        this.created.add(rel);
        await this.applyMetadata(target, header, 'node');
        body.resume();
        return;
      }
      default:
        throw new LayerRefused(name, `unsupported entry type "${header.type}"`);
    }
  }

  /** Pending background writes: bounded by count and bytes so memory stays small. */
  private readonly pending = new Set<Promise<void>>();
  private readonly pendingPaths = new Set<string>();
  private pendingBytes = 0;
  private backgroundError: unknown;

  private writeInBackground(rel: string, write: () => Promise<number>): void {
    this.pendingPaths.add(rel);
    let bytes = 0;
    const job: Promise<void> = write()
      .then((n) => {
        bytes = n;
      })
      .catch((err: unknown) => {
        this.backgroundError ??= err;
      })
      .finally(() => {
        this.pending.delete(job);
        this.pendingPaths.delete(rel);
        this.pendingBytes -= bytes;
      });
    this.pending.add(job);
  }

  private rethrowBackgroundError(): void {
    if (this.backgroundError !== undefined) throw this.backgroundError;
  }

  /** Applies backpressure: waits while too much is in flight. */
  async throttle(): Promise<void> {
    while (this.pending.size >= BACKGROUND_MAX_FILES) await Promise.race(this.pending);
    this.rethrowBackgroundError();
  }

  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    this.rethrowBackgroundError();
  }

  async finish(): Promise<void> {
    await this.drain();
    for (let i = this.dirTimes.length - 1; i >= 0; i--) {
      const { path, mtime } = this.dirTimes[i];
      await fsp.lutimes(path, mtime, mtime);
    }
  }

  /**
   * Makes sure every parent component exists as a real directory; creates missing ones (0755,
   * root-owned, like other unpackers) unless `create` is false.
   */
  private async ensureParents(entry: string, parentParts: string[], create = true): Promise<void> {
    let rel = '';
    for (const part of parentParts) {
      rel = rel === '' ? part : `${rel}/${part}`;
      if (this.knownDirs.has(rel)) continue;
      const abs = join(this.root, rel);
      const st = await lstatOrUndefined(abs);
      if (!st) {
        if (!create) throw new LayerRefused(entry, `"${rel}" does not exist in this layer`);
        await fsp.mkdir(abs, { mode: 0o755 });
      } else if (st.isSymbolicLink()) {
        throw new LayerRefused(entry, `it would be written through the symlink "${rel}"`);
      } else if (!st.isDirectory()) {
        throw new LayerRefused(entry, `its parent "${rel}" is not a directory`);
      }
      this.knownDirs.add(rel);
    }
  }

  /** Removes whatever is at target so the new entry replaces it (never following a symlink). */
  private async clear(target: string, rel: string): Promise<void> {
    if (!this.mayExist(rel)) return;
    const st = await lstatOrUndefined(target);
    if (!st) return;
    if (st.isDirectory()) {
      await fsp.rm(target, { recursive: true, force: true });
      for (const dir of [...this.knownDirs]) if (dir === rel || dir.startsWith(`${rel}/`)) this.knownDirs.delete(dir);
    } else {
      await fsp.unlink(target);
    }
    this.created.delete(rel);
  }

  /**
   * How to create a regular file with as few calls as possible: its owner is set only when
   * creation would not already give it (root-owned files in a layer without setgid dirs need no
   * fchown), its mode only when open(2) cannot (setuid/setgid/sticky bits, bits the umask drops).
   */
  private filePlan(header: Header): FilePlan {
    const uid = owner(header, 'uid');
    const gid = owner(header, 'gid');
    const mode = (header.mode ?? 0o644) & 0o7777;
    const chown = uid !== this.creation.uid || gid !== this.creation.gid || this.setgidSeen;
    const exactByOpen = (mode & ~0o777) === 0 && (mode & this.creation.umask) === 0;
    return { uid, gid, mode, mtime: mtimeOf(header), createMode: exactByOpen ? mode : 0o600, chown, chmod: !exactByOpen, pax: header.pax ?? undefined };
  }

  /**
   * A setgid directory exists in this layer (or is its root): files created below it inherit its
   * group, so from then on every file is chowned explicitly.
   */
  private get setgidSeen(): boolean {
    return this.creation.rootSetgid || this.setgidDirSeen;
  }
  private setgidDirSeen = false;

  private async applyMetadata(path: string, header: Header, kind: 'directory' | 'symlink' | 'node'): Promise<void> {
    await fsp.lchown(path, owner(header, 'uid'), owner(header, 'gid'));
    if (kind !== 'symlink') await fsp.chmod(path, header.mode ?? (kind === 'directory' ? 0o755 : 0o644));
    if (kind === 'directory' && ((header.mode ?? 0) & S_ISGID) !== 0) this.setgidDirSeen = true;
    await this.applyXattrs(path, header);
    if (kind === 'directory') this.dirTimes.push({ path, mtime: mtimeOf(header) });
    else await fsp.lutimes(path, mtimeOf(header), mtimeOf(header));
  }

  private async applyXattrs(path: string, header: Header): Promise<void> {
    if (!header.pax) return;
    for (const [key, value] of Object.entries(header.pax)) {
      if (!key.startsWith(XATTR_PREFIX)) continue;
      const xattr = key.slice(XATTR_PREFIX.length);
      if (xattr.startsWith('trusted.overlay.')) continue;
      lsetxattr(path, xattr, Buffer.from(value, 'latin1'));
    }
  }
}

/** Entry path → components; refuses absolute paths and `..`. "" and "." components are dropped. */
export function splitPath(name: string): string[] {
  if (name.startsWith('/')) throw new LayerRefused(name, 'absolute path');
  if (name.includes('\0')) throw new LayerRefused(name, 'NUL in path');
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new LayerRefused(name, '".." in path');
  return parts;
}

function owner(header: Header, which: 'uid' | 'gid'): number {
  const fromPax = header.pax?.[which];
  const value = fromPax !== undefined ? Number(fromPax) : header[which];
  return Number.isInteger(value) && (value as number) >= 0 ? (value as number) : 0;
}

function mtimeOf(header: Header): Date {
  const fromPax = header.pax?.mtime;
  if (fromPax !== undefined && Number.isFinite(Number(fromPax))) return new Date(Number(fromPax) * 1000);
  return header.mtime ?? new Date(0);
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  return lstatSync(path, { throwIfNoEntry: false });
}

/** Regular files up to this size are buffered and written on the thread pool, in parallel. */
const BACKGROUND_FILE_MAX = 4 * 1024 * 1024;
const BACKGROUND_MAX_FILES = 16;

const S_ISGID = 0o2000;
const CREATE_FLAGS = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW;

/** What creating a file gives without further calls (this process's ids and umask, the root's setgid bit). */
interface CreationDefaults {
  uid: number;
  gid: number;
  umask: number;
  rootSetgid: boolean;
}

let processUmask: number | undefined;

function creationDefaults(root: string): CreationDefaults {
  // read from /proc rather than process.umask(), whose read-only form is deprecated; nothing in
  // the daemon changes its umask, and a wrong guess only costs an fchmod (0o777 forces it)
  if (processUmask === undefined) {
    const line = /^Umask:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    processUmask = line ? parseInt(line[1], 8) : 0o777;
  }
  return {
    uid: process.geteuid?.() ?? 0,
    gid: process.getegid?.() ?? 0,
    umask: processUmask,
    rootSetgid: (lstatSync(root).mode & S_ISGID) !== 0,
  };
}

interface FilePlan {
  uid: number;
  gid: number;
  mode: number;
  mtime: Date;
  /** The mode open(2) creates the file with: the final one when the umask lets it through. */
  createMode: number;
  chown: boolean;
  /** Also after a chown, which clears setuid/setgid: createMode is then only ever 0o777 bits. */
  chmod: boolean;
  pax?: Record<string, string>;
}

async function finishFile(fh: FileHandle, plan: FilePlan): Promise<void> {
  if (plan.chown) await fh.chown(plan.uid, plan.gid);
  if (plan.chmod) await fh.chmod(plan.mode); // after chown, which clears setuid/setgid
  await fh.utimes(plan.mtime, plan.mtime);
}

async function writeFile(target: string, chunks: Buffer[], plan: FilePlan): Promise<number> {
  const fh = await fsp.open(target, CREATE_FLAGS, plan.createMode);
  let bytes = 0;
  try {
    if (chunks.length > 0) {
      const { bytesWritten } = await fh.writev(chunks);
      bytes = bytesWritten;
      const total = chunks.reduce((n, c) => n + c.length, 0);
      if (bytesWritten !== total) {
        const rest = Buffer.concat(chunks).subarray(bytesWritten);
        await fh.write(rest);
      }
    }
    await finishFile(fh, plan);
  } finally {
    await fh.close();
  }
  if (plan.pax) {
    for (const [key, value] of Object.entries(plan.pax)) {
      if (!key.startsWith(XATTR_PREFIX)) continue;
      const xattr = key.slice(XATTR_PREFIX.length);
      if (!xattr.startsWith('trusted.overlay.')) lsetxattr(target, xattr, Buffer.from(value, 'latin1'));
    }
  }
  return bytes;
}
