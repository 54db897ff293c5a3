import { createHash } from 'node:crypto';

/**
 * Registry authentication: parsing `WWW-Authenticate` challenges and the credentials a CRI
 * `AuthConfig` may carry. Secrets never appear in messages or logs.
 */
export interface Credentials {
  username?: string;
  password?: string;
  /** OAuth2 refresh token (docker login's "identitytoken"): exchanged at the token realm. */
  identityToken?: string;
  /** A bearer token for the registry itself, used as-is. */
  registryToken?: string;
}

export interface CriAuthConfig {
  username: string;
  password: string;
  auth: string;
  serverAddress: string;
  identityToken: string;
  registryToken: string;
}

export function credentialsFromAuthConfig(auth: CriAuthConfig | undefined): Credentials | undefined {
  if (!auth) return undefined;
  let { username, password } = auth;
  if (!username && auth.auth) {
    const decoded = Buffer.from(auth.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      username = decoded.slice(0, colon);
      password = decoded.slice(colon + 1);
    }
  }
  const creds: Credentials = {};
  if (username) {
    creds.username = username;
    creds.password = password;
  }
  if (auth.identityToken) creds.identityToken = auth.identityToken;
  if (auth.registryToken) creds.registryToken = auth.registryToken;
  return Object.keys(creds).length > 0 ? creds : undefined;
}

export interface Challenge {
  scheme: string; // lowercase: "bearer", "basic"
  params: Record<string, string>;
}

/** `Bearer realm="https://a/token",service="reg",scope="repository:x:pull"` → challenges. */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  const values = Array.isArray(header) ? header : header ? [header] : [];
  const out: Challenge[] = [];
  for (const value of values) {
    const re = /\s*([A-Za-z][\w-]*)\s*(?:=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*)))?\s*,?/gy;
    let current: Challenge | undefined;
    let m: RegExpExecArray | null;
    let pos = 0;
    while (pos < value.length && (m = re.exec(value)) !== null) {
      if (m[0] === '') break;
      pos = re.lastIndex;
      const [, token, quoted, bare] = m;
      if (quoted === undefined && bare === undefined) {
        current = { scheme: token.toLowerCase(), params: {} };
        out.push(current);
        // a scheme may be followed directly by its first param without a comma
        continue;
      }
      if (!current) continue;
      current.params[token.toLowerCase()] = quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : bare;
    }
  }
  return out;
}

export function basicHeader(creds: Credentials): string {
  return `Basic ${Buffer.from(`${creds.username ?? ''}:${creds.password ?? ''}`).toString('base64')}`;
}

/** Identifies a set of credentials in cache keys without keeping the secret itself. */
export function credentialKey(creds: Credentials | undefined): string {
  if (!creds) return 'anonymous';
  // a hash rather than the secrets: cache keys may end up in debug output
  return createHash('sha256').update(JSON.stringify(creds)).digest('hex').slice(0, 16);
}
