import { readFileSync } from "node:fs";
import type { z } from "zod";
import { ToolboxError } from "./errors.js";
import { type ConfigField, configFields, fieldByPath } from "./fields.js";
import { maskUrl } from "./mask.js";
import { type ConfigRole, ROLE_LABEL, ROLE_REQUIREMENTS } from "./roles.js";
import { configSchema, type ToolboxConfig, type ToolboxConfigInput } from "./schema.js";

/**
 * One precedence chain, lowest first:
 *   schema defaults < mode preset < config file < environment variables < explicit overrides.
 * The mode itself comes from overrides, then WT_MODE, then the file, then NODE_ENV=production; when none
 * names it, the mode is development, but without the preset's broker and database URLs: a process only
 * connects to a local default (whatever listens on 127.0.0.1:5672) when someone asked for development mode.
 */
export type Mode = ToolboxConfig["mode"];

/**
 * Local defaults: the three fields that have none in the schema, and the health endpoint on loopback.
 * Never applied in production.
 */
export const DEVELOPMENT_PRESET = {
  environment: { prefix: "dev" },
  broker: { url: "amqp://guest:guest@127.0.0.1:5672/" },
  database: { url: "postgres://postgres@127.0.0.1:5432/postgres" },
  worker: { healthHost: "127.0.0.1" },
} as const;

const PRESETS: Record<Mode, Record<string, unknown>> = {
  // A developer sees their workers in `celery events`, Flower and the dashboard without asking.
  development: { ...DEVELOPMENT_PRESET, worker: { ...DEVELOPMENT_PRESET.worker, events: true } },
  test: { ...DEVELOPMENT_PRESET, environment: { prefix: "test" }, producer: { publishTimeoutMs: 5_000 } },
  production: {},
};

export interface ConfigIssue {
  /** Dotted config path, e.g. `broker.url`. */
  path: string;
  /** The environment variable that sets it, when there is one. */
  envVar?: string;
  /** Where the offending value came from: `env AMQP_URL`, `file ./wt.json`, `override`, `preset`. */
  source?: string;
  message: string;
  /** A valid value to copy. */
  example?: unknown;
}

export class ConfigError extends ToolboxError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: ConfigIssue[], mode: Mode) {
    const lines = issues.map((issue) => `  - ${formatIssue(issue)}`);
    super(
      "CONFIG_INVALID",
      `Invalid configuration (mode ${mode}): ${issues.length} problem${issues.length === 1 ? "" : "s"}\n${lines.join("\n")}`,
      { hint: "set the variables above (see docs/config.md); values shown are masked" },
    );
    this.issues = issues;
  }
}

/** A value as it is written in an environment variable: lists comma-separated, maps as JSON. */
export function envText(value: unknown): string {
  if (Array.isArray(value)) return value.join(",");
  return value !== null && typeof value === "object" ? `'${JSON.stringify(value)}'` : String(value);
}

function formatIssue(issue: ConfigIssue): string {
  const where = issue.envVar ? `${issue.path} (${issue.envVar})` : issue.path;
  const from = issue.source ? ` [from ${issue.source}]` : "";
  const example =
    issue.example === undefined
      ? ""
      : issue.envVar
        ? `; example: ${issue.envVar}=${envText(issue.example)}`
        : `; example: ${JSON.stringify(issue.example)}`;
  return `${where}: ${issue.message}${from}${example}`;
}

export interface LoadConfigOptions {
  /** Environment to read; defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** JSON config file; defaults to WT_CONFIG_FILE. `false` ignores files. */
  file?: string | false;
  /** Highest-precedence values, e.g. from CLI flags or code. */
  overrides?: DeepPartial<ToolboxConfigInput>;
  /**
   * Outside production mode, fill a missing broker or database URL (`true`: both, or the ones listed) from
   * the development preset even when no mode was named. For code that states its config itself
   * (`parseConfig`) and for callers that never open that connection (`worker-toolbox topology plan`, `db`
   * commands need no broker); a process configured from its environment leaves it off.
   */
  localDefaults?: boolean | readonly Connection[];
  /**
   * What the process is (roles.ts): each role demands the settings it uses, e.g. a producer needs no
   * database.url. Default `tools`, which needs everything.
   */
  role?: ConfigRole;
}

export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

type Layer = { values: Record<string, unknown>; source: (path: string) => string };

/** Resolve the configuration from defaults, preset, file, environment and overrides; throws ConfigError. */
export function loadConfig(options: LoadConfigOptions = {}): ToolboxConfig {
  const env = options.env ?? process.env;
  const issues: ConfigIssue[] = [];
  const filePath = options.file === false ? undefined : (options.file ?? env.WT_CONFIG_FILE);
  const fileValues = filePath ? readConfigFile(filePath) : {};
  const envValues = readEnv(env, issues);

  const namedMode =
    (options.overrides?.mode as string | undefined) ??
    env.WT_MODE ??
    (fileValues.mode as string | undefined) ??
    (env.NODE_ENV === "production" ? "production" : undefined);
  const requestedMode = namedMode ?? "development";
  const mode: Mode = Object.hasOwn(PRESETS, requestedMode) ? (requestedMode as Mode) : "production";
  const preset =
    namedMode === undefined
      ? withoutConnections(PRESETS[mode], options.localDefaults ?? false)
      : PRESETS[mode];

  const layers: Layer[] = [
    { values: preset, source: () => `${mode} preset` },
    { values: fileValues, source: () => `file ${filePath}` },
    { values: envValues, source: (path) => `env ${envVarName(path)}` },
    { values: (options.overrides ?? {}) as Record<string, unknown>, source: () => "override" },
  ];
  const merged: Record<string, unknown> = {};
  for (const layer of layers) deepMerge(merged, layer.values);
  // An unknown mode is reported by the schema; validate the rest as production (strictest).
  if (!Object.hasOwn(PRESETS, requestedMode)) merged.mode = requestedMode;

  const result = configSchema.safeParse(merged);
  const implicit = namedMode === undefined;
  if (!result.success) {
    issues.push(
      ...result.error.issues.flatMap((issue) => toConfigIssues(issue, merged, layers, mode, implicit)),
    );
  }
  issues.push(...roleIssues(options.role ?? "tools", merged, mode, implicit));
  if (issues.length > 0 || !result.success) throw new ConfigError(issues, mode);
  return result.data;
}

/** A connection whose URL the development preset holds. */
export type Connection = "broker" | "database";

/** For a mode nobody named: the preset without the connection URLs, but for those `keep` names. */
function withoutConnections(
  preset: Record<string, unknown>,
  keep: boolean | readonly Connection[],
): Record<string, unknown> {
  const kept = keep === true ? ["broker", "database"] : keep === false ? [] : keep;
  const out = { ...preset };
  for (const connection of ["broker", "database"] as const) {
    if (!kept.includes(connection)) delete out[connection];
  }
  return out;
}

/** A setting the role uses that nothing set (the schema lets it be absent because other roles do without). */
function roleIssues(
  role: ConfigRole,
  merged: Record<string, unknown>,
  mode: Mode,
  implicitMode: boolean,
): ConfigIssue[] {
  return ROLE_REQUIREMENTS[role]
    .filter((path) => getPath(merged, path) === undefined)
    .map((path) => {
      const field = fieldByPath(path);
      // `service` has no local default in any mode: it is simply missing.
      const local = getPath(DEVELOPMENT_PRESET as unknown as Record<string, unknown>, path);
      const needed = `needed by ${ROLE_LABEL[role]}`;
      return {
        path,
        ...(field ? { envVar: field.envVar, example: field.example } : {}),
        message:
          local === undefined
            ? `missing; ${needed}`
            : `${missingMessage(path, mode, implicitMode)}, ${needed}`,
      };
    });
}

/**
 * Validate an in-memory config object: no environment, no file. Without a `mode` it is development with
 * the development preset (local URLs included): the code says what it wants. `role` as in loadConfig.
 */
export function parseConfig(
  input: DeepPartial<ToolboxConfigInput>,
  options: { role?: ConfigRole } = {},
): ToolboxConfig {
  return loadConfig({ env: {}, file: false, overrides: input, localDefaults: true, ...options });
}

const envVarName = (path: string) => fieldByPath(path)?.envVar ?? path;

function readConfigFile(path: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, "utf8"));
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
      throw new Error("the top level is not an object");
    return parsed as Record<string, unknown>;
  } catch (cause) {
    throw new ToolboxError(
      "CONFIG_FILE_UNREADABLE",
      `Cannot read config file ${path}: ${(cause as Error).message}`,
      {
        cause,
        hint: "point WT_CONFIG_FILE at a JSON file whose keys follow docs/config.md, or unset it",
      },
    );
  }
}

/** Env vars to nested values, coercing by field kind; unknown WT_ variables are reported (typo guard). */
function readEnv(env: Record<string, string | undefined>, issues: ConfigIssue[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const known = new Map(configFields().map((field) => [field.envVar, field]));
  for (const [name, raw] of Object.entries(env)) {
    if (raw === undefined) continue;
    const field = known.get(name);
    if (!field) {
      if (name.startsWith("WT_") && !["WT_CONFIG_FILE"].includes(name)) {
        const guess = closest(name, [...known.keys()]);
        issues.push({
          path: name,
          message: `unknown variable${guess ? `; did you mean ${guess}?` : ""}`,
          source: `env ${name}`,
        });
      }
      continue;
    }
    if (raw === "") continue; // An empty variable means "not set", as in most shells' ${VAR:-default}.
    if (field.kind === "json") {
      try {
        setPath(out, field.path, JSON.parse(raw));
      } catch (error) {
        issues.push({
          path: field.path,
          envVar: name,
          source: `env ${name}`,
          message: `is not valid JSON (${(error as Error).message})`,
          example: field.example,
        });
      }
      continue;
    }
    setPath(out, field.path, coerce(field, raw));
  }
  return out;
}

function coerce(field: ConfigField, raw: string): unknown {
  const text = raw.trim();
  switch (field.kind) {
    case "number":
      return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
    case "boolean":
      if (/^(true|1|yes|on)$/i.test(text)) return true;
      if (/^(false|0|no|off)$/i.test(text)) return false;
      return text;
    case "number[]":
      return text.split(",").map((part) => (/^\s*\d+\s*$/.test(part) ? Number(part) : part.trim()));
    default:
      return raw;
  }
}

function toConfigIssues(
  issue: z.core.$ZodIssue,
  merged: Record<string, unknown>,
  layers: Layer[],
  mode: Mode,
  implicitMode: boolean,
): ConfigIssue[] {
  const base = issue.path.filter((part) => typeof part === "string").join(".");
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => {
      const path = base ? `${base}.${key}` : key;
      const guess = closest(
        key,
        configFields().map((field) => field.path.split(".").pop()!),
      );
      return {
        path,
        message: `unknown key${guess ? `; did you mean ${guess}?` : ""}`,
        source: sourceOf(path, layers),
      };
    });
  }
  const field = fieldByPath(base);
  const value = getPath(merged, base);
  const missing = value === undefined;
  const message = missing
    ? missingMessage(base, mode, implicitMode)
    : `${issue.message.replace(/^Invalid input: /, "")}; got ${describeValue(value, field)}`;
  return [
    {
      path: base || "(root)",
      ...(field ? { envVar: field.envVar, example: field.example } : {}),
      ...(missing ? {} : { source: sourceOf(base, layers) }),
      message,
    },
  ];
}

function missingMessage(path: string, mode: Mode, implicitMode: boolean): string {
  if (mode === "production") return "missing; required in production mode (no default on purpose)";
  const local = getPath(DEVELOPMENT_PRESET as unknown as Record<string, unknown>, path);
  if (implicitMode && typeof local === "string") {
    return (
      `missing; no mode was named, so no local default is assumed: set it, or set WT_MODE=development ` +
      `to use ${maskUrl(local)}, or run \`worker-toolbox dev\` (it starts a broker and a database)`
    );
  }
  return "missing";
}

function describeValue(value: unknown, field: ConfigField | undefined): string {
  if (field?.secret) return "***";
  return JSON.stringify(typeof value === "string" ? maskUrl(value) : value);
}

function sourceOf(path: string, layers: Layer[]): string | undefined {
  for (const layer of [...layers].reverse())
    if (getPath(layer.values, path) !== undefined) return layer.source(path);
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function deepMerge(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined) continue;
    if (isPlainObject(value)) {
      if (!isPlainObject(target[key])) target[key] = {};
      deepMerge(target[key] as Record<string, unknown>, value);
    } else {
      target[key] = value;
    }
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".");
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (!isPlainObject(node[part])) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts.at(-1)!] = value;
}

function getPath(source: Record<string, unknown>, path: string): unknown {
  let node: unknown = source;
  for (const part of path.split(".")) {
    if (!isPlainObject(node)) return undefined;
    node = node[part];
  }
  return node;
}

/** The candidate within edit distance 3, for "did you mean". */
function closest(word: string, candidates: string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance <= 3 && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}
