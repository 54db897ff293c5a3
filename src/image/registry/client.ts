import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { CriError, failedPrecondition, notFound, unavailable } from '../../errors';
import type { Logger } from '../../log';
import { basicHeader, type Challenge, credentialKey, type Credentials, parseChallenges } from './auth';
import { readBody, send, StallGuard, TransportError } from './http';

/**
 * A client of the distribution HTTP API v2 for one registry host: mirrors first (in the configured
 * order), then the registry itself; bearer tokens from the challenge (cached per scope), basic auth;
 * redirects for blobs; retries with backoff on transient failures.
 */
export interface RegistrySettings {
  insecure: string[];
  mirrors: Record<string, string[]>;
  ca_files: Record<string, string>;
  stall_timeout: number;
}

interface Endpoint {
  base: URL; // scheme://host[:port][/prefix]
  isMirror: boolean;
}

interface CachedToken {
  header: string;
  expiresAt: number;
}

const MAX_REDIRECTS = 5;
const ATTEMPTS = 4;
const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;

/** Shared across clients: tokens are per registry, scope and credentials, not per pull. */
const tokenCache = new Map<string, CachedToken>();

/** Connection pools shared by every client of the process, by CA set. */
const agents = new Map<string, http.Agent | https.Agent>();

function agentFor(protocol: string, caFile: string | undefined): http.Agent | https.Agent {
  const key = `${protocol}|${caFile ?? ''}`;
  let agent = agents.get(key);
  if (!agent) {
    if (protocol === 'http:') agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
    else {
      const ca = caFile ? [...rootCertificates, readFileSync(caFile, 'utf8')] : undefined;
      agent = new https.Agent({ keepAlive: true, maxSockets: 32, ca });
    }
    agents.set(key, agent);
  }
  return agent;
}

/** Closes idle pooled connections (daemon shutdown, tests). */
export function closeRegistryConnections(): void {
  for (const agent of agents.values()) agent.destroy();
  agents.clear();
  tokenCache.clear();
}

export function registryApiHost(domain: string): string {
  return domain === 'docker.io' ? 'registry-1.docker.io' : domain;
}

export class RegistryClient {
  private readonly endpoints: Endpoint[];

  constructor(
    readonly domain: string,
    private readonly settings: RegistrySettings,
    private readonly credentials: Credentials | undefined,
    private readonly log: Logger,
  ) {
    const mirrors = (settings.mirrors[domain] ?? []).map((m) => ({ base: new URL(m.replace(/\/+$/, '')), isMirror: true }));
    const scheme = settings.insecure.includes(domain) ? 'http' : 'https';
    this.endpoints = [...mirrors, { base: new URL(`${scheme}://${registryApiHost(domain)}`), isMirror: false }];
  }

  /** GET a manifest by tag or digest: its bytes and Content-Type. */
  async getManifest(repo: string, reference: string, accept: string, signal?: AbortSignal): Promise<{ body: Buffer; contentType?: string }> {
    return this.acrossEndpoints(`manifest ${this.domain}/${repo}:${reference}`, async (endpoint) => {
      const res = await this.fetch(endpoint, repo, `manifests/${reference}`, { Accept: accept }, signal);
      const body = await readBody(res, MAX_MANIFEST_BYTES, `manifest ${repo}:${reference}`);
      return { body, contentType: res.headers['content-type'] };
    });
  }

  /** Opens a blob's byte stream (after redirects), guarded by the stall timeout. */
  async openBlob(repo: string, digest: string, signal?: AbortSignal): Promise<{ stream: Readable; length?: number }> {
    return this.acrossEndpoints(`blob ${this.domain}/${repo}@${digest}`, async (endpoint) => {
      const res = await this.fetch(endpoint, repo, `blobs/${digest}`, {}, signal);
      const guard = new StallGuard(this.settings.stall_timeout, `blob ${digest} from ${endpoint.base.host}`);
      res.on('error', (err) => guard.destroy(new TransportError(`blob ${digest}: ${err.message}`, true)));
      res.on('aborted', () => guard.destroy(new TransportError(`blob ${digest}: connection closed mid-transfer`, true)));
      res.pipe(guard);
      guard.on('close', () => res.destroy());
      // until the consumer's pipeline attaches, an error must not be an uncaught 'error' event;
      // the consumer still sees it (the stream is left errored)
      guard.on('error', () => undefined);
      const length = res.headers['content-length'] ? Number(res.headers['content-length']) : undefined;
      return { stream: guard, length };
    });
  }

  async getBlob(repo: string, digest: string, limit: number, signal?: AbortSignal): Promise<Buffer> {
    return this.acrossEndpoints(`blob ${this.domain}/${repo}@${digest}`, async (endpoint) => {
      const res = await this.fetch(endpoint, repo, `blobs/${digest}`, {}, signal);
      return readBody(res, limit, `blob ${digest}`);
    });
  }

  /** Tries each endpoint in order; a mirror's failure (any kind) moves on to the next one. */
  private async acrossEndpoints<T>(what: string, work: (e: Endpoint) => Promise<T>): Promise<T> {
    let lastError: unknown;
    for (const endpoint of this.endpoints) {
      try {
        return await work(endpoint);
      } catch (err) {
        if ((err as Error).name === 'AbortError') throw err;
        lastError = err;
        if (endpoint.isMirror) {
          this.log.warn({ mirror: endpoint.base.origin, err: (err as Error).message }, `mirror failed for ${what}; trying the next endpoint`);
        }
      }
    }
    if (lastError instanceof CriError) throw lastError;
    throw unavailable(`${what}: ${(lastError as Error).message}`);
  }

  /**
   * One logical request: auth (answering a 401 challenge once), redirects, and retries with
   * exponential backoff on transient errors. Returns a 200 response; anything else throws.
   */
  private async fetch(endpoint: Endpoint, repo: string, path: string, headers: OutgoingHttpHeaders, signal?: AbortSignal): Promise<IncomingMessage> {
    const scope = `repository:${repo}:pull`;
    const prefix = endpoint.base.pathname === '/' ? '' : endpoint.base.pathname;
    const url = new URL(`${endpoint.base.origin}${prefix}/v2/${repo}/${path}`);
    // identity of the registry for bearer tokens: a mirror keeps its own
    let answeredChallenge = false;
    for (let attempt = 1; ; attempt++) {
      try {
        const authHeader = this.cachedAuth(endpoint, scope);
        const res = await this.followRedirects(url, { ...headers, ...(authHeader ? { Authorization: authHeader } : {}) }, signal);
        if (res.statusCode === 200) return res;
        const body = (await readBody(res, 64 * 1024, 'error body').catch(() => Buffer.alloc(0))).toString('utf8').slice(0, 500);
        if (res.statusCode === 401 && !answeredChallenge) {
          answeredChallenge = true;
          await this.answerChallenge(endpoint, scope, parseChallenges(res.headers['www-authenticate']), signal);
          attempt--;
          continue;
        }
        if (res.statusCode === 401 || res.statusCode === 403) {
          throw failedPrecondition(`${endpoint.base.host} refused access to ${repo} (${res.statusCode}): check the pull credentials${body ? `; registry said: ${body.trim()}` : ''}`);
        }
        if (res.statusCode === 404) throw notFound(`${repo}/${path} not found on ${endpoint.base.host}`);
        const transient = res.statusCode === 429 || (res.statusCode ?? 0) >= 500;
        throw new TransportError(`${url.host} answered ${res.statusCode} for ${repo}/${path}: ${body.trim()}`, transient);
      } catch (err) {
        if (err instanceof TransportError && err.transient && attempt < ATTEMPTS) {
          const delay = 100 * 2 ** (attempt - 1);
          this.log.debug({ err: err.message, attempt, delay }, 'registry request failed; retrying');
          await sleep(delay, undefined, { signal });
          continue;
        }
        throw err;
      }
    }
  }

  private async followRedirects(start: URL, headers: OutgoingHttpHeaders, signal?: AbortSignal): Promise<IncomingMessage> {
    let url = start;
    let hdrs = headers;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const res = await send({ method: 'GET', url, headers: hdrs, agent: this.agent(url), stallMs: this.settings.stall_timeout, signal });
      const status = res.statusCode ?? 0;
      if (![301, 302, 303, 307, 308].includes(status) || !res.headers.location) return res;
      res.resume();
      const next = new URL(res.headers.location, url);
      if (next.host !== url.host) {
        // blob storage on another host gets a signed URL; never our registry credentials
        const { Authorization: _dropped, ...rest } = hdrs as Record<string, string>;
        hdrs = rest;
      }
      url = next;
    }
    throw new TransportError(`too many redirects from ${start.host}`, false);
  }

  private agent(url: URL): http.Agent | https.Agent {
    return agentFor(url.protocol, this.settings.ca_files[url.host] ?? this.settings.ca_files[this.domain]);
  }

  private cacheKey(endpoint: Endpoint, scope: string): string {
    return `${endpoint.base.origin}|${scope}|${credentialKey(this.credentials)}`;
  }

  private cachedAuth(endpoint: Endpoint, scope: string): string | undefined {
    const hit = tokenCache.get(this.cacheKey(endpoint, scope));
    if (!hit) return undefined;
    if (hit.expiresAt <= Date.now()) {
      tokenCache.delete(this.cacheKey(endpoint, scope));
      return undefined;
    }
    return hit.header;
  }

  private async answerChallenge(endpoint: Endpoint, scope: string, challenges: Challenge[], signal?: AbortSignal): Promise<void> {
    const key = this.cacheKey(endpoint, scope);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer) {
      if (this.credentials?.registryToken) {
        tokenCache.set(key, { header: `Bearer ${this.credentials.registryToken}`, expiresAt: Date.now() + 3600_000 });
        return;
      }
      const token = await this.fetchToken(bearer, bearer.params.scope ?? scope, signal);
      tokenCache.set(key, token);
      return;
    }
    const basic = challenges.find((c) => c.scheme === 'basic');
    if (basic && this.credentials?.username) {
      tokenCache.set(key, { header: basicHeader(this.credentials), expiresAt: Number.MAX_SAFE_INTEGER });
      return;
    }
    throw failedPrecondition(`${endpoint.base.host} requires authentication${basic ? ' (basic) and no username was given' : ''}`);
  }

  private async fetchToken(challenge: Challenge, scope: string, signal?: AbortSignal): Promise<CachedToken> {
    const realm = challenge.params.realm;
    if (!realm) throw failedPrecondition(`bearer challenge from ${this.domain} names no realm`);
    const url = new URL(realm);
    const creds = this.credentials;
    let res: IncomingMessage;
    if (creds?.identityToken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'shoal', scope });
      if (challenge.params.service) form.set('service', challenge.params.service);
      res = await send({
        method: 'POST',
        url,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
        agent: agentFor(url.protocol, this.settings.ca_files[url.host]),
        stallMs: this.settings.stall_timeout,
        signal,
      });
    } else {
      if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
      url.searchParams.set('scope', scope);
      const headers: OutgoingHttpHeaders = creds?.username ? { Authorization: basicHeader(creds) } : {};
      res = await send({ method: 'GET', url, headers, agent: agentFor(url.protocol, this.settings.ca_files[url.host]), stallMs: this.settings.stall_timeout, signal });
    }
    const body = await readBody(res, 1024 * 1024, 'token response');
    if (res.statusCode !== 200) {
      throw failedPrecondition(`token service ${url.host} refused a token for ${scope} (${res.statusCode}): check the pull credentials`);
    }
    const parsed = JSON.parse(body.toString('utf8')) as { token?: string; access_token?: string; expires_in?: number };
    const token = parsed.token ?? parsed.access_token;
    if (!token) throw failedPrecondition(`token service ${url.host} answered without a token`);
    const lifetime = Math.max(60, parsed.expires_in ?? 60) * 1000;
    return { header: `Bearer ${token}`, expiresAt: Date.now() + lifetime - 10_000 };
  }
}
