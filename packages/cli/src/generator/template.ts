import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { ToolboxError } from "@worker-toolbox/config";
import type { ReplacedFile } from "./replacedFiles.js";

/**
 * A template on disk: real files, `.hbs` only where something is substituted, dotfiles stored as
 * `_gitignore` (npm drops `.gitignore` from tarballs), file names may contain `{{…}}`.
 * `template.json` at its root is metadata, never rendered.
 */
export interface Template {
  name: string;
  /** The template's version: the toolbox version it ships with. */
  version: string;
  /** The service template directory, e.g. `templates/worker`. */
  dir: string;
  /** The per-task template (contract, handler, test), rendered by `new` and by `add task`. */
  taskDir: string;
  /** Files of the service template written once and then owned by the service (never upgraded). */
  userOwned: readonly string[];
  taskList: TaskListSpec;
  /** Managed files a later version replaced by a package export; `upgrade` moves their importers. */
  replaced: readonly ReplacedFile[];
}

/** Where `add task` registers a task: a file and the marker lines it inserts above. */
export interface TaskListSpec {
  file: string;
  importMarker: string;
  registerMarker: string;
  /** Lines inserted above each marker; rendered with the task's answers. */
  importLine: string;
  registerLine: string;
}

/** How a caller names a template: a bundled name, or a directory (tests use an older fixture). */
export type TemplateRef = string | { dir: string; version?: string };

interface TemplateMeta {
  name: string;
  taskTemplate: string;
  userOwned?: string[];
  taskList: TaskListSpec;
  replaced?: ReplacedFile[];
}

const here = dirname(fileURLToPath(import.meta.url));

/** The directory holding bundled templates: `packages/cli/templates` when packed, else the repo's `templates`. */
export function templatesRoot(): string {
  for (let dir = here; ; dir = dirname(dir)) {
    const candidate = join(dir, "templates");
    if (existsSync(join(candidate, "worker", "template.json"))) return candidate;
    if (dirname(dir) === dir) break;
  }
  throw new ToolboxError("GENERATOR_INVALID_INPUT", `No templates directory found above ${here}.`, {
    hint: "reinstall @worker-toolbox/cli; its package ships a templates/ directory",
  });
}

/** The version of this toolbox (the cli package), which is also the bundled template's version. */
export function toolboxVersion(): string {
  for (let dir = here; ; dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "@worker-toolbox/cli" && pkg.version) return pkg.version;
    }
    if (dirname(dir) === dir) break;
  }
  throw new Error(`@worker-toolbox/cli's package.json not found above ${here}`);
}

export function loadTemplate(ref: TemplateRef = "worker"): Template {
  const dir = typeof ref === "string" ? join(templatesRoot(), ref) : resolve(ref.dir);
  const metaFile = join(dir, "template.json");
  if (!existsSync(metaFile)) {
    throw new ToolboxError(
      "GENERATOR_INVALID_INPUT",
      `Template ${JSON.stringify(ref)} not found (${metaFile}).`,
      {
        hint: "the bundled template is `worker`",
      },
    );
  }
  const meta = JSON.parse(readFileSync(metaFile, "utf8")) as TemplateMeta;
  return {
    name: meta.name,
    version: (typeof ref === "object" && ref.version) || toolboxVersion(),
    dir,
    taskDir: resolve(dir, meta.taskTemplate),
    userOwned: meta.userOwned ?? [],
    taskList: meta.taskList,
    replaced: meta.replaced ?? [],
  };
}

/** Every file of a template directory, relative with `/` separators, sorted; `template.json` excluded. */
export function templateFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (current: string) => {
    for (const entry of readdirSync(current)) {
      const full = join(current, entry);
      if (statSync(full).isDirectory()) walk(full);
      else out.push(relative(dir, full).split(sep).join("/"));
    }
  };
  walk(dir);
  return out.filter((file) => file !== "template.json").sort();
}
