import { splitUrlList } from "./brokerUrls.js";

/**
 * Whether a process's connections are encrypted: the one place that reads it from the URLs. In production
 * mode the schema refuses a plaintext connection to a host off this machine (schema.ts) unless its
 * `allowPlaintext` says the network encrypts it; `worker-toolbox doctor` reports the same findings
 * (its `tls` row), including an allowed one and a certificate left unverified.
 */

/** A connection of the config that sends credentials and task data in the clear over a network. */
export interface PlaintextConnection {
  /** The config field: `broker.url`, `broker.managementUrl` (the management API's Basic auth) or `database.url`. */
  path: "broker.url" | "broker.managementUrl" | "database.url";
  /** The host it reaches (the node's, for one of a cluster's). */
  host: string;
  /** The setting that allows it (`broker.allowPlaintext`, `database.allowPlaintext`). */
  allowedBy: "broker.allowPlaintext" | "database.allowPlaintext";
  /** Whether that setting allows it. */
  allowed: boolean;
}

/** What `plaintextConnections` reads: the URLs and the two opt-outs (a parsed config has all of it). */
export interface TransportSettings {
  broker: { url: string; managementUrl?: string | undefined; allowPlaintext?: boolean };
  database: { url?: string | undefined; allowPlaintext?: boolean };
}

/** localhost, *.localhost, 127.0.0.0/8 and ::1: a connection to them never leaves the machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "");
  if (host === "localhost" || host.endsWith(".localhost") || host === "::1") return true;
  return /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * Whether node-postgres opens TLS for this URL, read as pg-connection-string reads it: `sslmode` other than
 * `disable`, a client certificate, key or root certificate, `ssl=true`/`ssl=1`, or `sslnegotiation=direct`.
 */
export function databaseUrlUsesTls(url: URL): boolean {
  const query = url.searchParams;
  const mode = query.get("sslmode");
  if (mode === "disable") return false;
  if (mode !== null || ["sslcert", "sslkey", "sslrootcert"].some((key) => query.has(key))) return true;
  const ssl = query.get("ssl");
  return ssl === "true" || ssl === "1" || query.get("sslnegotiation") === "direct";
}

/** The plaintext connections of `settings` to hosts off this machine, allowed or not. Unparsable URLs are skipped. */
export function plaintextConnections(settings: TransportSettings): PlaintextConnection[] {
  const found: PlaintextConnection[] = [];
  const allowBroker = settings.broker.allowPlaintext === true;
  for (const text of splitUrlList(settings.broker.url)) {
    const url = parse(text);
    if (url?.protocol === "amqp:" && !isLoopbackHost(url.hostname))
      found.push({
        path: "broker.url",
        host: url.hostname,
        allowedBy: "broker.allowPlaintext",
        allowed: allowBroker,
      });
  }
  // The management API gets the broker's credentials too (Basic auth); when not configured it is derived as
  // https:// from an amqps:// broker URL (runtime's deriveManagementUrl), so only a configured http:// counts.
  for (const text of splitUrlList(settings.broker.managementUrl ?? "")) {
    const url = parse(text);
    if (url?.protocol === "http:" && !isLoopbackHost(url.hostname))
      found.push({
        path: "broker.managementUrl",
        host: url.hostname,
        allowedBy: "broker.allowPlaintext",
        allowed: allowBroker,
      });
  }
  const database = settings.database.url === undefined ? undefined : parse(settings.database.url);
  // A Unix socket (`?host=/run/postgresql`) never crosses a network either.
  const socket = database?.searchParams.get("host")?.startsWith("/") === true;
  if (database && !socket && !isLoopbackHost(database.hostname) && !databaseUrlUsesTls(database))
    found.push({
      path: "database.url",
      host: database.hostname,
      allowedBy: "database.allowPlaintext",
      allowed: settings.database.allowPlaintext === true,
    });
  return found;
}

/** The variables of the two opt-outs (fields.ts derives the same names; transport.test.ts checks). */
export const ALLOW_PLAINTEXT_VARS = {
  "broker.allowPlaintext": "WT_BROKER_ALLOW_PLAINTEXT",
  "database.allowPlaintext": "WT_DATABASE_ALLOW_PLAINTEXT",
} as const;

/**
 * The config issues production mode raises: one per field with a plaintext connection off this machine that
 * its `allowPlaintext` does not allow (all of a cluster's nodes in one), each naming the fix and the opt-out.
 */
export function plaintextRefusals(settings: TransportSettings): { path: string; message: string }[] {
  const refused = plaintextConnections(settings).filter((connection) => !connection.allowed);
  return (Object.keys(REFUSAL) as PlaintextConnection["path"][]).flatMap((path) => {
    const hosts = refused.filter((connection) => connection.path === path).map((c) => c.host);
    if (hosts.length === 0) return [];
    const { what, fix } = REFUSAL[path];
    const allowVar =
      ALLOW_PLAINTEXT_VARS[path === "database.url" ? "database.allowPlaintext" : "broker.allowPlaintext"];
    const message =
      `not encrypted: ${what} to ${hosts.join(", ")}, and production mode ` +
      `sends credentials and task data off this machine only over TLS: ${fix}, or set ${allowVar}=true if ` +
      "the network itself encrypts it (a service mesh, a VPN)";
    return [{ path, message }];
  });
}

/** Per field: what is in the clear, and the fix production mode's refusal names. */
const REFUSAL: Record<PlaintextConnection["path"], { what: string; fix: string }> = {
  "broker.url": {
    what: "amqp://",
    fix: "use amqps:// (TLS, port 5671; WT_BROKER_TLS_CA_FILE for a private CA)",
  },
  "broker.managementUrl": {
    what: "http:// (the management API, with the broker's credentials)",
    fix: "use https:// (the management plugin's TLS listener, port 15671), or leave it unset to derive it from amqps://",
  },
  "database.url": {
    what: "no sslmode",
    fix: "add ?sslmode=verify-full to the URL (sslrootcert=<file> for a private CA)",
  },
};

function parse(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
