import { ToolboxError } from "./errors.js";

/**
 * What kind of process loads the config. Each demands what it uses, so a producer-only web app needs no
 * DATABASE_URL in production. `broker.url` and `environment.prefix` are needed by every role (the schema
 * requires them); the table below lists what a role needs on top of that.
 */
export const CONFIG_ROLES = ["producer", "worker", "tracker", "tools"] as const;
export type ConfigRole = (typeof CONFIG_ROLES)[number];

export const ROLE_REQUIREMENTS: Readonly<Record<ConfigRole, readonly string[]>> = {
  /** Sends tasks: the broker only. */
  producer: [],
  /** Consumes its service's queue and writes results. */
  worker: ["service", "database.url"],
  /** Consumes the platform queue into the tracking table. */
  tracker: ["database.url"],
  /** The command-line tools (doctor, db, topology, dlq…): may touch both servers. */
  tools: ["database.url"],
};

/** How messages name a role: "needed by a worker". */
export const ROLE_LABEL: Readonly<Record<ConfigRole, string>> = {
  producer: "a producer",
  worker: "a worker",
  tracker: "the tracker",
  tools: "the command-line tools",
};

/** The roles that need `path` (every role for the fields the schema itself requires). */
export function rolesNeeding(path: string): ConfigRole[] {
  return CONFIG_ROLES.filter((role) => ROLE_REQUIREMENTS[role].includes(path));
}

/**
 * The result database URL, for code that is about to use it. A config loaded for the producer role may
 * lack it; using the database then fails here with the fix, not later inside pg (which would silently
 * fall back to PGHOST/localhost).
 */
export function requireDatabaseUrl(config: { database: { url?: string | undefined } }, who: string): string {
  const url = config.database.url;
  if (url) return url;
  throw new ToolboxError("CONFIG_INVALID", `${who} needs the result database, but database.url is not set.`, {
    hint: "set DATABASE_URL (database.url), and load the config with the role that uses it (loadConfig({ role }))",
  });
}
