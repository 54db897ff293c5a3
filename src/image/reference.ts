import { invalidArgument } from '../errors';

/**
 * Image references the docker way: `busybox` → `docker.io/library/busybox:latest`,
 * `host:5000/team/app@sha256:…`, `name:tag@sha256:…` (the digest wins for fetching; the tag is kept
 * for naming). The grammar follows the distribution reference format (lowercase path components
 * separated by `/`, optional registry host with port, tag ≤128 chars, digest `algo:hex`).
 */
export interface Reference {
  /** Registry host as written, normalized (`docker.io` for Docker Hub), e.g. `127.0.0.1:5000`. */
  readonly domain: string;
  /** Repository path inside the registry, e.g. `library/busybox`. */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
}

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
export const DEFAULT_TAG = 'latest';

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const IPV6_HOST = /^\[[0-9a-fA-F:.]+\]$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const IMAGE_ID = /^(?:sha256:)?[a-f0-9]{64}$/;
const MAX_NAME_LENGTH = 255;

export function isDigest(text: string): boolean {
  return DIGEST.test(text);
}

/** A full image id (`sha256:<64 hex>` or the bare 64 hex), which is never a repository name. */
export function isImageId(text: string): boolean {
  return IMAGE_ID.test(text);
}

function validDomain(domain: string): boolean {
  let host = domain;
  const port = /:(\d{1,5})$/.exec(domain);
  if (port) host = domain.slice(0, -port[0].length);
  if (IPV6_HOST.test(host)) return true;
  return host.split('.').every((c) => DOMAIN_COMPONENT.test(c));
}

/** Parses and normalizes a reference; throws InvalidArgument naming the reference and the flaw. */
export function parseReference(input: string): Reference {
  const bad = (why: string) => invalidArgument(`image reference "${input}" is malformed: ${why}`);
  if (input === '') throw bad('it is empty');
  if (input !== input.trim()) throw bad('it has surrounding whitespace');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(`"${digest}" is not a digest (expected sha256:<64 lowercase hex>)`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`"${tag}" is not a valid tag`);
  }
  if (rest === '') throw bad('the repository name is empty');
  if (rest.length > MAX_NAME_LENGTH) throw bad(`the repository name is longer than ${MAX_NAME_LENGTH} characters`);

  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) {
    domain = first;
    path = rest.slice(slash + 1);
    if (!validDomain(domain)) throw bad(`"${domain}" is not a valid registry host`);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  for (const component of path.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      throw bad(`path component "${component}" must be lowercase letters, digits and single separators`);
    }
  }
  if (domain === DEFAULT_DOMAIN && path.startsWith('library/') && isImageId(path.slice(8)) && !tag && !digest) {
    throw bad('a 64-hex name is an image id, not a repository');
  }
  if (!tag && !digest) tag = DEFAULT_TAG;
  return { domain, path, tag, digest };
}

export function repositoryName(ref: Reference): string {
  return `${ref.domain}/${ref.path}`;
}

/** `domain/path:tag` (only when a tag is present). */
export function taggedName(ref: Reference): string | undefined {
  return ref.tag === undefined ? undefined : `${repositoryName(ref)}:${ref.tag}`;
}

export function digestedName(ref: Reference, digest: string): string {
  return `${repositoryName(ref)}@${digest}`;
}

export function formatReference(ref: Reference): string {
  let text = repositoryName(ref);
  if (ref.tag !== undefined) text += `:${ref.tag}`;
  if (ref.digest !== undefined) text += `@${ref.digest}`;
  return text;
}
