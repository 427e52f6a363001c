import { type ConfigField, configFields, DEVELOPMENT_PRESET, envText } from "@worker-toolbox/config";

/**
 * The body of a generated `.env.example`: every config variable from the schema's catalogue, with its
 * description, default and an example, all commented out so the file documents without overriding.
 * Rendered at generation time, so a field added to the schema appears in the next generated service and
 * (as a template change) in the next `worker-toolbox upgrade`.
 */
export function envExample(service: string): string {
  const sections = new Map<string, ConfigField[]>();
  for (const field of configFields()) {
    const section = field.path.includes(".") ? field.path.split(".")[0]! : "general";
    sections.set(section, [...(sections.get(section) ?? []), field]);
  }
  const lines: string[] = [];
  for (const [section, fields] of sections) {
    lines.push(`# ── ${section} ${"─".repeat(Math.max(3, 70 - section.length))}`, "");
    for (const field of fields) lines.push(...describe(field, service), "");
  }
  return lines.join("\n").trimEnd() + "\n";
}

function describe(field: ConfigField, service: string): string[] {
  const lines = wrap(field.description, 96).map((line) => `# ${line}`);
  const facts: string[] = [];
  if (field.path === "service") facts.push(`set by src/worker.ts to ${service}`);
  // A generated service is a worker: what a worker needs is required here.
  else if (field.requiredFor.includes("worker")) {
    const local = presetValue(field.path);
    facts.push(
      local === undefined ? "required" : `required in production; development default: ${format(local)}`,
    );
  }
  if (field.defaultValue !== undefined) facts.push(`default: ${format(field.defaultValue)}`);
  if (field.options) facts.push(`one of: ${field.options.join(", ")}`);
  if (facts.length > 0) lines.push(`# (${facts.join("; ")})`);
  const value = field.path === "service" ? service : (field.example ?? field.defaultValue);
  lines.push(`# ${field.envVar}=${value === undefined ? "" : format(value)}`);
  return lines;
}

function presetValue(path: string): unknown {
  let node: unknown = DEVELOPMENT_PRESET;
  for (const part of path.split(".")) node = (node as Record<string, unknown> | undefined)?.[part];
  return node;
}

function format(value: unknown): string {
  return typeof value === "string" ? value : envText(value);
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}
