import { globalRegistry, type z } from "zod";
import { CONFIG_ROLES, type ConfigRole, rolesNeeding } from "./roles.js";
import { configSchema } from "./schema.js";

/**
 * A flat catalogue of every config field, derived from the schema. The env loader, the generated
 * docs/config.md, `.env.example` in generated services and error messages all read it, so a field added
 * to the schema shows up everywhere at once.
 */
export interface ConfigField {
  /** Dotted path, e.g. `broker.heartbeatSeconds`. */
  path: string;
  /** The environment variable that sets it. */
  envVar: string;
  /** `json`: a map (e.g. per-service overrides), given in the environment as one JSON object. */
  kind: "string" | "number" | "boolean" | "enum" | "number[]" | "json";
  description: string;
  example: unknown;
  /** The default, or undefined when there is none. */
  defaultValue: unknown;
  /** True when the schema has neither a default nor `.optional()`: every role needs it. */
  required: boolean;
  /** The roles that need it (all of them when `required`; see roles.ts). */
  requiredFor: readonly ConfigRole[];
  /** Allowed values of an enum field. */
  options?: readonly string[];
  /** Never printed: masked in every message and listing. */
  secret: boolean;
}

/** Well-known names for the server URLs (the ones test set-ups and most tools use); everything else is `WT_<PATH>`. */
const ENV_ALIASES: Record<string, string> = {
  "broker.url": "AMQP_URL",
  "broker.managementUrl": "RABBITMQ_MANAGEMENT_URL",
  "database.url": "DATABASE_URL",
};

export function envVarName(path: string): string {
  return (
    ENV_ALIASES[path] ??
    `WT_${path
      .split(".")
      .map((part) => part.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase())
      .join("_")}`
  );
}

type AnySchema = z.ZodType;
// biome-ignore lint/suspicious/noExplicitAny: zod 4 keeps its definition objects untyped.
const defOf = (schema: AnySchema) => (schema as unknown as { _zod: { def: Record<string, any> } })._zod.def;

function collect(shape: Record<string, AnySchema>, prefix: string, out: ConfigField[]): void {
  for (const [key, fieldSchema] of Object.entries(shape)) {
    const path = prefix ? `${prefix}.${key}` : key;
    let inner = fieldSchema;
    let defaultValue: unknown;
    let optional = false;
    for (;;) {
      const def = defOf(inner);
      if (def.type === "default") defaultValue = def.defaultValue;
      else if (def.type === "optional") optional = true;
      else if (def.type !== "prefault" && def.type !== "nullable") break;
      inner = def.innerType as AnySchema;
    }
    const def = defOf(inner);
    if (def.type === "object") {
      collect(def.shape as Record<string, AnySchema>, path, out);
      continue;
    }
    const meta = (globalRegistry.get(fieldSchema) ?? {}) as { description?: string; examples?: unknown[] };
    const required = defaultValue === undefined && !optional;
    const kind =
      def.type === "union"
        ? "string"
        : def.type === "array"
          ? "number[]"
          : def.type === "enum"
            ? "enum"
            : def.type === "record"
              ? "json"
              : (def.type as "string" | "number" | "boolean");
    out.push({
      path,
      envVar: envVarName(path),
      kind,
      description: meta.description ?? "",
      example: meta.examples?.[0],
      defaultValue,
      required,
      requiredFor: required ? CONFIG_ROLES : rolesNeeding(path),
      ...(def.type === "enum" ? { options: Object.values(def.entries as Record<string, string>) } : {}),
      secret: /pass(word|phrase)?$/i.test(key),
    });
  }
}

let cached: ConfigField[] | undefined;

export function configFields(): readonly ConfigField[] {
  if (!cached) {
    cached = [];
    collect(configSchema.shape as unknown as Record<string, AnySchema>, "", cached);
  }
  return cached;
}

export function fieldByPath(path: string): ConfigField | undefined {
  return configFields().find((field) => field.path === path);
}
