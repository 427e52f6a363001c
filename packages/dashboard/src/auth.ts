import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import { ToolboxError } from "@worker-toolbox/config";

/**
 * Who may look and who may act. Two roles: a `viewer` reads every page; an `operator` may also revoke,
 * replay and purge. Credentials are the passwords of `dashboard.viewerPassword` / `dashboard.operatorPassword`,
 * sent as HTTP basic auth (user `viewer` or `operator`) or as `Authorization: Bearer <password>`. With no
 * password configured the dashboard is open, and everyone is an operator: allowed on loopback only
 * (`assertSafeBind`).
 */
export type Role = "viewer" | "operator";

export interface Principal {
  role: Role;
  /** `viewer`, `operator`, or `anonymous` when no password is configured. */
  user: string;
}

export interface Credentials {
  viewerPassword?: string | undefined;
  operatorPassword?: string | undefined;
}

export interface Authenticator {
  /** True when a password is configured: requests without valid credentials are refused. */
  readonly required: boolean;
  /** The principal the Authorization header proves, or undefined (answer 401). */
  authenticate(authorization: string | undefined): Principal | undefined;
  /** The CSRF token for a principal: an HMAC under a per-process secret, embedded in every form. */
  csrfToken(principal: Principal): string;
  /** True when `token` is the principal's CSRF token. */
  checkCsrf(principal: Principal, token: string | undefined): boolean;
}

export function createAuthenticator(credentials: Credentials, secret = randomBytes(32)): Authenticator {
  const accounts: { user: Role; password: string }[] = [];
  if (credentials.operatorPassword)
    accounts.push({ user: "operator", password: credentials.operatorPassword });
  if (credentials.viewerPassword) accounts.push({ user: "viewer", password: credentials.viewerPassword });
  const required = accounts.length > 0;
  const token = (principal: Principal) =>
    createHmac("sha256", secret).update(`${principal.role}:${principal.user}`).digest("base64url");
  return {
    required,
    authenticate(authorization) {
      if (!required) return { role: "operator", user: "anonymous" };
      const offered = offeredCredentials(authorization);
      if (!offered) return undefined;
      // Every account is compared (constant time), so timing tells nothing about which one matched.
      let match: Role | undefined;
      for (const account of accounts) {
        const userMatches = offered.user === undefined || offered.user === account.user;
        if (sameSecret(offered.password, account.password) && userMatches) match ??= account.user;
      }
      return match ? { role: match, user: match } : undefined;
    },
    csrfToken: token,
    checkCsrf(principal, offered) {
      return offered !== undefined && sameSecret(offered, token(principal));
    },
  };
}

function offeredCredentials(
  header: string | undefined,
): { user: string | undefined; password: string } | undefined {
  if (!header) return undefined;
  const [scheme, value = ""] = header.split(/\s+/, 2) as [string, string?];
  if (scheme.toLowerCase() === "bearer" && value) return { user: undefined, password: value };
  if (scheme.toLowerCase() !== "basic") return undefined;
  const decoded = Buffer.from(value, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function sameSecret(a: string, b: string): boolean {
  const left = createHmac("sha256", "compare").update(a).digest();
  const right = createHmac("sha256", "compare").update(b).digest();
  return timingSafeEqual(left, right);
}

/** True for 127.0.0.0/8, ::1 and `localhost`: addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "");
  if (bare === "localhost") return true;
  if (isIP(bare) === 4) return bare.startsWith("127.");
  if (isIP(bare) === 6) return bare === "::1" || /^::ffff:127\./i.test(bare);
  return false;
}

/** Refuse to serve an open dashboard (no password) on an address other machines can reach. */
export function assertSafeBind(host: string, credentials: Credentials): void {
  if (isLoopback(host) || credentials.viewerPassword || credentials.operatorPassword) return;
  throw new ToolboxError(
    "CONFIG_INVALID",
    `Refusing to serve the dashboard on ${host} without credentials: anyone who reaches it could revoke, replay and purge tasks.`,
    {
      hint:
        "set WT_DASHBOARD_OPERATOR_PASSWORD (and WT_DASHBOARD_VIEWER_PASSWORD for read-only access), " +
        "or bind to 127.0.0.1 and reach it through an SSH tunnel or an authenticating proxy",
    },
  );
}
