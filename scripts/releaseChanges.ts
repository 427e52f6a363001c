/** What the release script computes without side effects: version order and the template's changes. */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { outputPath } from "../packages/cli/src/generator/render.js";
import { templateFiles } from "../packages/cli/src/generator/template.js";

export const VERSION = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$/;

/** -1, 0 or 1; a pre-release sorts before its release (1.0.0-rc.1 < 1.0.0). */
export function compareVersions(a: string, b: string): number {
  const [, ...pa] = VERSION.exec(a) ?? [];
  const [, ...pb] = VERSION.exec(b) ?? [];
  for (let i = 0; i < 3; i++) {
    const diff = Number(pa[i]) - Number(pb[i]);
    if (diff !== 0) return Math.sign(diff);
  }
  if (pa[3] === pb[3]) return 0;
  if (pa[3] === undefined) return 1;
  if (pb[3] === undefined) return -1;
  return pa[3] < pb[3] ? -1 : 1;
}

const files = (dir: string): string[] => (existsSync(dir) ? templateFiles(dir) : []);

/** A template source path as it lands in a service: `.hbs` dropped, `_gitignore` → `.gitignore`. */
const servicePath = (source: string): string => outputPath(source, source);

/** What `upgrade` does with a change to one template file, by who owns the file in a service. */
function effect(template: string, path: string, userOwned: readonly string[], change: string): string {
  if (template === "task") {
    return `\`${path}\` (task template): ${change}; used by \`add task\` for new tasks, existing task files are the service's`;
  }
  if (userOwned.includes(path)) {
    return `\`${path}\` (the service's own file): ${change}; \`upgrade\` leaves it alone, copy the change by hand if wanted`;
  }
  if (path === "package.json" && change === "changed") {
    return "`package.json` (managed, merged by key): changed; `upgrade` takes the change for the toolbox pins and for keys the service left as rendered, the service's own keys stay";
  }
  const action = {
    changed:
      "`upgrade` three-way merges the change into the service's edits (conflicts are marked and reported)",
    added: "`upgrade` creates it",
    removed: "`upgrade` deletes it where unedited, keeps it where edited",
  }[change];
  return `\`${path}\` (managed): ${change}; ${action}`;
}

/**
 * One line per template file that differs between two `templates/` directories (the previous published
 * CLI's and this checkout's), saying what `worker-toolbox upgrade` does with it.
 */
export function describeTemplateChanges(oldRoot: string, newRoot: string): string[] {
  const lines: string[] = [];
  for (const template of ["worker", "task"]) {
    const oldDir = join(oldRoot, template);
    const newDir = join(newRoot, template);
    const meta = join(newDir, "template.json");
    const userOwned = existsSync(meta)
      ? ((JSON.parse(readFileSync(meta, "utf8")) as { userOwned?: string[] }).userOwned ?? [])
      : [];
    const oldFiles = files(oldDir);
    const newFiles = files(newDir);
    for (const file of [...new Set([...oldFiles, ...newFiles])].sort()) {
      const before = oldFiles.includes(file) ? readFileSync(join(oldDir, file), "utf8") : undefined;
      const after = newFiles.includes(file) ? readFileSync(join(newDir, file), "utf8") : undefined;
      if (before === after) continue;
      const change = before === undefined ? "added" : after === undefined ? "removed" : "changed";
      lines.push(effect(template, servicePath(file), userOwned, change));
    }
  }
  return lines;
}
