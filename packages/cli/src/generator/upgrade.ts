import { join, resolve } from "node:path";
import { ToolboxError } from "@worker-toolbox/config";
import { versionProblem } from "./answers.js";
import { applyChanges, type FileChange, type FileFailure, readIfExists } from "./fsPlan.js";
import { BASE_DIR, MANIFEST_FILE, type Manifest, manifestContent, readManifest } from "./manifest.js";
import { threeWayMerge } from "./merge.js";
import { renderService } from "./render.js";
import { loadTemplate, type TemplateRef } from "./template.js";

export interface UpgradeOptions {
  /** The toolbox version to pin (default: the template's version). */
  to?: string;
  /** Report only: write nothing. */
  check?: boolean;
  template?: TemplateRef;
}

/** What happened (or, with check, would happen) to one managed file. */
export interface FileUpgrade {
  path: string;
  outcome:
    | "unchanged" // the template did not change it
    | "updated" // the template changed it and the service had not: new render taken
    | "merged" // both changed it, in different places
    | "conflict" // both changed the same lines: markers written
    | "created" // new in this template version
    | "removed" // no longer in the template and unedited: deleted
    | "kept"; // deleted by the service, or dropped by the template but edited: left as it is
  /** The service's file differs from the template's render (an edit not listed in `customized`). */
  drifted: boolean;
}

export interface ServiceUpgrade {
  dir: string;
  service: string;
  from: { template: string; toolbox: string };
  to: { template: string; toolbox: string };
  /** The template version or a pinned toolbox package is older than the target. */
  behind: boolean;
  files: FileUpgrade[];
  conflicts: string[];
  drifted: string[];
  /** `@worker-toolbox/*` dependencies whose version changes, as `name: old → new`. */
  bumped: string[];
  changes: FileChange[];
  failures: FileFailure[];
}

/** Upgrade (or check) each service directory; a bad directory throws before any service is written. */
export function upgrade(dirs: readonly string[], options: UpgradeOptions = {}): ServiceUpgrade[] {
  const template = loadTemplate(options.template);
  const to = options.to ?? template.version;
  const problem = versionProblem(to);
  if (problem) {
    throw new ToolboxError("GENERATOR_INVALID_INPUT", `--to ${JSON.stringify(to)}: ${problem}.`, {
      hint: "pass the toolbox version to move to, e.g. --to 0.2.0",
    });
  }
  const plans = dirs.map((dir) => planUpgrade(resolve(dir), to, options.template));
  if (!options.check) for (const plan of plans) plan.failures = applyChanges(plan.dir, plan.changes);
  return plans;
}

function planUpgrade(dir: string, to: string, templateRef: TemplateRef | undefined): ServiceUpgrade {
  const manifest = readManifest(dir);
  const template = loadTemplate(templateRef);
  const linked = manifest.answers.toolboxPath !== undefined;
  const answers = linked ? manifest.answers : { ...manifest.answers, toolboxVersion: to };
  const rendered = renderService(template, answers).filter((file) => file.managed);
  const renderedByPath = new Map(rendered.map((file) => [file.path, file.content]));
  const paths = [...new Set([...manifest.managedFiles, ...renderedByPath.keys()])].sort();
  const label = `template ${template.version}`;

  const files: FileUpgrade[] = [];
  const changes: FileChange[] = [];
  const write = (path: string, content: string, current: string | undefined) => {
    if (current !== content)
      changes.push({ path, action: current === undefined ? "create" : "overwrite", content });
  };

  for (const path of paths) {
    const ours = readIfExists(join(dir, path));
    const base = readIfExists(join(dir, BASE_DIR, path));
    const theirs = renderedByPath.get(path);
    // Without a base (deleted by hand) the nearest truth is "what the template renders now".
    const drifted =
      ours !== undefined &&
      ours !== (base ?? theirs) &&
      !manifest.customized.includes(path) &&
      theirs !== undefined;

    if (theirs === undefined) {
      const unedited = ours === undefined || ours === base;
      if (unedited && ours !== undefined) changes.push({ path, action: "delete", content: "" });
      if (base !== undefined) changes.push({ path: `${BASE_DIR}/${path}`, action: "delete", content: "" });
      files.push({ path, outcome: unedited ? "removed" : "kept", drifted: false });
      continue;
    }
    write(`${BASE_DIR}/${path}`, theirs, base);
    if (ours === undefined) {
      const isNew = !manifest.managedFiles.includes(path);
      if (isNew) write(path, theirs, ours);
      files.push({ path, outcome: isNew ? "created" : "kept", drifted: false });
      continue;
    }
    const merged = threeWayMerge(base ?? "", ours, theirs, label);
    write(path, merged.content, ours);
    const outcome = merged.conflict
      ? "conflict"
      : merged.content === ours
        ? "unchanged"
        : ours === base
          ? "updated"
          : "merged";
    files.push({ path, outcome, drifted });
  }

  const packageJson = changes.find((change) => change.path === "package.json");
  const currentPackage = readIfExists(join(dir, "package.json"));
  const bumped = linked ? [] : bumpToolbox(packageJson?.content ?? currentPackage, to);
  if (!linked && bumped.length > 0) {
    const content = setToolboxVersions(packageJson?.content ?? currentPackage!, to);
    if (packageJson) packageJson.content = content;
    else changes.push({ path: "package.json", action: "overwrite", content });
  }

  const next: Manifest = {
    ...manifest,
    template: { name: template.name, version: template.version },
    toolboxVersion: linked ? "linked" : to,
    answers,
    managedFiles: rendered.map((file) => file.path),
  };
  const manifestText = manifestContent(next);
  write(MANIFEST_FILE, manifestText, readIfExists(join(dir, MANIFEST_FILE)));

  const fromToolbox = manifest.toolboxVersion;
  const behind =
    manifest.template.version !== template.version ||
    (!linked && fromToolbox !== to) ||
    bumped.length > 0 ||
    files.some((file) => ["updated", "merged", "conflict", "created", "removed"].includes(file.outcome));
  return {
    dir,
    service: manifest.answers.service,
    from: { template: manifest.template.version, toolbox: fromToolbox },
    to: { template: template.version, toolbox: next.toolboxVersion },
    behind,
    files,
    conflicts: files.filter((file) => file.outcome === "conflict").map((file) => file.path),
    drifted: files.filter((file) => file.drifted).map((file) => file.path),
    bumped,
    changes,
    failures: [],
  };
}

const DEPENDENCY_FIELDS = [
  "dependencies",
  "devDependencies",
  "peerDependencies",
  "optionalDependencies",
] as const;

type PackageJson = Partial<Record<(typeof DEPENDENCY_FIELDS)[number], Record<string, string>>>;

/** `@worker-toolbox/*` dependencies not yet at `to`; none when package.json is unreadable (e.g. conflict markers). */
function bumpToolbox(text: string | undefined, to: string): string[] {
  const pkg = parsePackage(text);
  if (!pkg) return [];
  return DEPENDENCY_FIELDS.flatMap((field) =>
    Object.entries(pkg[field] ?? {})
      .filter(
        ([name, version]) =>
          name.startsWith("@worker-toolbox/") && !version.startsWith("file:") && version !== to,
      )
      .map(([name, version]) => `${name}: ${version} → ${to}`),
  );
}

function setToolboxVersions(text: string, to: string): string {
  const pkg = parsePackage(text)!;
  for (const field of DEPENDENCY_FIELDS) {
    for (const [name, version] of Object.entries(pkg[field] ?? {})) {
      if (name.startsWith("@worker-toolbox/") && !version.startsWith("file:")) pkg[field]![name] = to;
    }
  }
  const indent = /^([ \t]+)"/m.exec(text)?.[1] ?? "  ";
  return `${JSON.stringify(pkg, null, indent)}\n`;
}

function parsePackage(text: string | undefined): PackageJson | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as PackageJson;
  } catch {
    return undefined;
  }
}

/** The exit status for `upgrade --check`: 1 when any service is behind, drifted or would conflict. */
export function checkFailed(results: readonly ServiceUpgrade[]): boolean {
  return results.some((result) => result.behind || result.drifted.length > 0 || result.conflicts.length > 0);
}
