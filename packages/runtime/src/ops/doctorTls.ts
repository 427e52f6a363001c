import {
  ALLOW_PLAINTEXT_VARS,
  brokerUrls,
  isLoopbackHost,
  type PlaintextConnection,
  plaintextConnections,
  type ToolboxConfig,
} from "@worker-toolbox/config";
import type { DoctorCheck } from "./doctorCheck.js";

/**
 * `doctor`'s `tls` check: which connections leave this machine unencrypted (the config library's
 * `plaintextConnections`, the same reading production mode refuses by). Production refuses them unless
 * `broker.allowPlaintext` / `database.allowPlaintext` allow one, so a plaintext connection seen here is one
 * an opt-out allowed, or one outside production mode: a warning either way, with what production would do.
 * Encrypted connections whose certificate is not verified are a warning too. Reads the config only.
 */
export function checkTls(config: ToolboxConfig, options: { database: boolean }): DoctorCheck {
  const settings = { broker: config.broker, database: options.database ? config.database : {} };
  const plaintext = plaintextConnections(settings);
  if (plaintext.length > 0) {
    const production = config.mode === "production";
    return {
      id: "tls",
      status: "warn",
      detail: `not encrypted: ${plaintext.map((c) => describe(c, production)).join("; ")}`,
      hint:
        "use amqps:// (WT_BROKER_TLS_CA_FILE for a private CA), https:// for the management API and " +
        "sslmode=verify-full in DATABASE_URL, " +
        "unless the network itself encrypts (docs/operations.md, TLS in production)",
    };
  }
  const unverified = unverifiedConnections(config, options.database);
  if (unverified.length > 0) {
    return {
      id: "tls",
      status: "warn",
      detail: `encrypted, but the server's certificate is not verified: ${unverified.join("; ")}`,
      hint: "give the CA instead (broker.tls.caFile; sslrootcert=<file>&sslmode=verify-full)",
    };
  }
  return { id: "tls", status: "ok", detail: encrypted(config, options.database) };
}

function describe(connection: PlaintextConnection, production: boolean): string {
  const what = {
    "broker.url": `broker amqp:// to ${connection.host}`,
    "broker.managementUrl": `management API http:// to ${connection.host}`,
    "database.url": `database (no sslmode) at ${connection.host}`,
  }[connection.path];
  if (connection.allowed) return `${what} (allowed by ${ALLOW_PLAINTEXT_VARS[connection.allowedBy]}=true)`;
  return production ? what : `${what} (production mode would refuse it)`;
}

/** Encrypted connections off this machine that accept any certificate. */
function unverifiedConnections(config: ToolboxConfig, database: boolean): string[] {
  const found: string[] = [];
  const remoteTls = brokerUrls(config).some((text) => {
    const url = new URL(text);
    return url.protocol === "amqps:" && !isLoopbackHost(url.hostname);
  });
  if (remoteTls && !config.broker.tls.rejectUnauthorized)
    found.push("broker (broker.tls.rejectUnauthorized false)");
  const db = database && config.database.url ? new URL(config.database.url) : undefined;
  if (db && !isLoopbackHost(db.hostname) && db.searchParams.get("sslmode") === "no-verify")
    found.push("database (sslmode=no-verify)");
  return found;
}

/** What the ok row says: each connection encrypted, or on this machine. */
function encrypted(config: ToolboxConfig, database: boolean): string {
  const urls = brokerUrls(config).map((text) => new URL(text));
  const local = (url: URL) => isLoopbackHost(url.hostname);
  const broker = urls.every(local)
    ? "broker on this machine"
    : `broker amqps:// (${urls.length} node${urls.length === 1 ? "" : "s"})`;
  if (!database || !config.database.url) return broker;
  const db = new URL(config.database.url);
  const socket = db.searchParams.get("host")?.startsWith("/") === true;
  const mode = db.searchParams.get("sslmode");
  const where =
    local(db) || socket ? "database on this machine" : `database TLS${mode ? ` (sslmode=${mode})` : ""}`;
  return `${broker}; ${where}`;
}
