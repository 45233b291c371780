/**
 * Who is calling, and what it may do. Two kinds of credential travel as
 * `authorization: Bearer <credential>`:
 *
 * - the one shared token (`MEDTUNE_AUTH_TOKEN`, the embedded single-host default): whoever holds it
 *   is the platform itself (role `service`, every scope);
 * - a signed JWT (ES256: the services sign with the stack's private key, `MEDTUNE_JWT_KEY_FILE`;
 *   workers and other verifiers hold only the public key, `MEDTUNE_JWT_PUBLIC_KEY_FILE`) naming
 *   its caller (`sub`) and role (`role`: user | operator | worker | service), or a per-job data
 *   credential (`role: job`, scoped to one job and one dataset version, two hours long).
 *
 * Each RPC declares the scope it needs (a {@link MethodScopes} table next to each service's
 * handlers); the server answers UNAUTHENTICATED when the credential is missing, malformed,
 * expired or wrongly signed, and PERMISSION_DENIED when it is valid but its role lacks the scope.
 * Credentials are never logged, never kept in an error message, and compared in constant time.
 */
import { createHash, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';

/** Metadata key of the bearer credential. */
export const AUTHORIZATION_KEY = 'authorization';

/** The roles a JWT may name. */
export const ROLES = ['user', 'operator', 'worker', 'service'] as const;
export type Role = (typeof ROLES)[number];

/**
 * What an RPC may need:
 * - `read`: look at anything (get, list, watch, resolve);
 * - `write`: create or change what a user owns (jobs, datasets, runs, evaluations, models);
 * - `operator`: aliases, admin, dead letters, anything that changes what others depend on;
 * - `worker`: what a GPU worker does (register, heartbeat, report);
 * - `service`: service-to-service calls (a service driving a worker, internal hooks);
 * - `dataset-stream`: stream one dataset version's rows (the per-job data credential).
 */
export const SCOPES = ['read', 'write', 'operator', 'worker', 'service', 'dataset-stream'] as const;
export type Scope = (typeof SCOPES)[number];

/** The scopes each role holds. A `service` holds all; a worker holds nothing of the job API. */
export const ROLE_SCOPES: Readonly<Record<Role | 'job', readonly Scope[]>> = {
  user: ['read', 'write'],
  operator: ['read', 'write', 'operator'],
  worker: ['worker'],
  service: SCOPES,
  job: ['dataset-stream'],
};

/** One scope per method of a service definition (every method must be listed). */
export type MethodScopes<S> = { readonly [K in keyof S]: Scope };

/** The caller of one call, after its credential was checked. */
export interface Principal {
  /** `sub` of the JWT (e.g. 'alice', 'worker-gpu1', 'training-service'), or 'shared-token'. */
  readonly subject: string;
  readonly role: Role | 'job';
  readonly scopes: ReadonlySet<Scope>;
  /** For a per-job data credential: the job and the dataset version it may read. */
  readonly job?: { readonly jobId: string; readonly versionDigest: string };
}

/** Checks credentials; built by {@link createAuthenticator}. */
export interface Authenticator {
  /** The caller, or undefined when the credential is missing or not valid (→ UNAUTHENTICATED). */
  authenticate(metadata: Metadata): Promise<Principal | undefined>;
}

/** What {@link createAuthenticator} accepts; at least one of the two. */
export interface AuthOptions {
  /** The shared token (whoever holds it has role `service`). */
  sharedToken?: string | undefined;
  /** Public key that verifies signed tokens (ES256, P-256). */
  jwtPublicKey?: KeyObject | undefined;
}

const ISSUER = 'medtune';
const ALG = 'ES256';

/** The authenticator for the configured credentials, or undefined when none is (auth off). */
export function createAuthenticator(o: AuthOptions): Authenticator | undefined {
  if (!o.sharedToken && !o.jwtPublicKey) return undefined;
  const shared = o.sharedToken ? digest(o.sharedToken) : undefined;
  const key = o.jwtPublicKey;
  const sharedPrincipal: Principal = { subject: 'shared-token', role: 'service', scopes: new Set(SCOPES) };
  return {
    async authenticate(metadata) {
      const credential = bearerOf(metadata);
      if (!credential) return undefined;
      if (shared && timingSafeEqual(digest(credential), shared)) return sharedPrincipal;
      if (!key || credential.split('.').length !== 3) return undefined;
      try {
        const { payload } = await jwtVerify(credential, key, { issuer: ISSUER, algorithms: [ALG], requiredClaims: ['sub', 'exp'] });
        const role = payload['role'];
        if (typeof payload.sub !== 'string' || !payload.sub) return undefined;
        if (role === 'job') {
          const jobId = payload['job'];
          const versionDigest = payload['ver'];
          if (typeof jobId !== 'string' || typeof versionDigest !== 'string') return undefined;
          return { subject: payload.sub, role, scopes: new Set(ROLE_SCOPES.job), job: { jobId, versionDigest } };
        }
        if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) return undefined;
        return { subject: payload.sub, role: role as Role, scopes: new Set(ROLE_SCOPES[role as Role]) };
      } catch (err) {
        if (err instanceof joseErrors.JOSEError) return undefined;
        throw err;
      }
    },
  };
}

/** Signs a caller token: `sub` + `role`, valid for `ttlSeconds` (default 1 h). */
export async function signToken(key: KeyObject, claims: { subject: string; role: Role; ttlSeconds?: number }): Promise<string> {
  return new SignJWT({ role: claims.role })
    .setProtectedHeader({ alg: ALG })
    .setIssuer(ISSUER)
    .setSubject(claims.subject)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (claims.ttlSeconds ?? 3600))
    .sign(key);
}

/**
 * Signs the short-lived data credential of one job: it may stream the rows of `versionDigest`
 * and nothing else. It travels only in the StartJob request (never stored, never in an event);
 * a resumed attempt gets a fresh one, so nothing about the job's identity depends on it.
 */
export async function signJobDataToken(key: KeyObject, claims: { jobId: string; versionDigest: string; ttlSeconds?: number }): Promise<string> {
  return new SignJWT({ role: 'job', job: claims.jobId, ver: claims.versionDigest })
    .setProtectedHeader({ alg: ALG })
    .setIssuer(ISSUER)
    .setSubject(`job:${claims.jobId}`)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (claims.ttlSeconds ?? 2 * 3600))
    .sign(key);
}

/**
 * The token a service sends on its own calls: the shared token when there is one, otherwise a
 * `service` JWT re-signed before it expires. `current()` is synchronous (the client reads it per
 * call); call `stop()` at shutdown.
 */
export interface ServiceCredential {
  current(): string | undefined;
  stop(): void;
}

/** Builds the {@link ServiceCredential} of the service named `subject` (signed with the private `jwtKey`). */
export async function serviceCredential(o: { sharedToken?: string | undefined; jwtKey?: KeyObject | undefined; subject: string }): Promise<ServiceCredential> {
  if (o.sharedToken) return { current: () => o.sharedToken, stop: () => undefined };
  if (!o.jwtKey) return { current: () => undefined, stop: () => undefined };
  const key = o.jwtKey;
  const ttl = 3600;
  let token = await signToken(key, { subject: o.subject, role: 'service', ttlSeconds: ttl });
  const timer = setInterval(() => {
    void signToken(key, { subject: o.subject, role: 'service', ttlSeconds: ttl }).then((t) => (token = t));
  }, (ttl / 2) * 1000);
  timer.unref();
  return { current: () => token, stop: () => clearInterval(timer) };
}

/** Whether `principal` holds `scope`. */
export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.has(scope);
}

/** A checker for `authorization: Bearer <token>` against one token, in constant time. */
export function bearerTokenChecker(token: string): (metadata: Metadata) => boolean {
  if (!token) throw new Error('bearerTokenChecker: empty token');
  const expected = digest(token);
  return (metadata) => {
    const value = bearerOf(metadata);
    return value !== undefined && timingSafeEqual(digest(value), expected);
  };
}

/** The metadata value a client sends for `token`. */
export function bearer(token: string): string {
  return `Bearer ${token}`;
}

function bearerOf(metadata: Metadata): string | undefined {
  const value = metadata.get(AUTHORIZATION_KEY)[0];
  if (typeof value !== 'string') return undefined;
  const m = /^Bearer (.+)$/i.exec(value);
  return m?.[1];
}

// Both sides hashed first, so the comparison is constant-time whatever the lengths.
function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
