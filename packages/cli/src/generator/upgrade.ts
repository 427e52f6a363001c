import { join, resolve } from "node:path";
import { ToolboxError } from "@worker-toolbox/config";
import { versionProblem } from "./answers.js";
import { applyChanges, type FileChange, type FileFailure, readIfExists } from "./fsPlan.js";
import { BASE_DIR, MANIFEST_FILE, type Manifest, manifestContent, readManifest } from "./manifest.js";
import { hasConflictMarkers, type MergeOutcome, threeWayMerge } from "./merge.js";
import { mergePackageJson } from "./packageJsonMerge.js";
import { renderService } from "./render.js";
import { type ReplacedFile, replacedImports } from "./replacedFiles.js";
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
    | "kept" // deleted by the service, or dropped by the template but edited: left as it is
    | "rewritten"; // the service's own file: its imports of a file the template replaced now name the package
  /** The service's file differs from the template's render (an edit not listed in `customized`). */
  drifted: boolean;
  /** The file still holds conflict markers from an earlier upgrade: resolve them first. */
  unresolved?: boolean;
}

export interface ServiceUpgrade {
  dir: string;
  service: string;
  from: { template: string; toolbox: string };
  to: { template: string; toolbox: string };
  /** The template version or a pinned toolbox package is older than the target. */
  behind: boolean;
  files: FileUpgrade[];
  /** Files in conflict: merged into conflict now, or still holding markers from an earlier upgrade. */
  conflicts: string[];
  /** The subset of `conflicts` left unresolved by an earlier upgrade. */
  unresolved: string[];
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
  const context: FileContext = { dir, manifest, to, linked, label, changes };
  for (const path of paths) files.push(planFile(context, path, renderedByPath.get(path)));
  for (const change of movedImports(dir, template.replaced, files)) {
    changes.push(change);
    files.push({ path: change.path, outcome: "rewritten", drifted: false });
  }

  const bumped = linked ? [] : bumpList(readIfExists(join(dir, "package.json")), to);

  const next: Manifest = {
    ...manifest,
    template: { name: template.name, version: template.version },
    toolboxVersion: linked ? "linked" : to,
    answers: manifest.answers,
    managedFiles: rendered.map((file) => file.path),
  };
  writeIfChanged(changes, MANIFEST_FILE, manifestContent(next), readIfExists(join(dir, MANIFEST_FILE)));

  const fromToolbox = manifest.toolboxVersion;
  const behind =
    manifest.template.version !== template.version ||
    (!linked && fromToolbox !== to) ||
    bumped.length > 0 ||
    files.some(
      (file) =>
        !file.unresolved &&
        ["updated", "merged", "conflict", "created", "removed", "rewritten"].includes(file.outcome),
    );
  return {
    dir,
    service: manifest.answers.service,
    from: { template: manifest.template.version, toolbox: fromToolbox },
    to: { template: template.version, toolbox: next.toolboxVersion },
    behind,
    files,
    conflicts: files.filter((file) => file.outcome === "conflict").map((file) => file.path),
    unresolved: files.filter((file) => file.unresolved).map((file) => file.path),
    drifted: files.filter((file) => file.drifted).map((file) => file.path),
    bumped,
    changes,
    failures: [],
  };
}

/** The importers of each replaced file this upgrade removes (or the service already deleted) move to its package. */
function movedImports(
  dir: string,
  replaced: readonly ReplacedFile[],
  files: readonly FileUpgrade[],
): FileChange[] {
  return replaced
    .filter((entry) => {
      const outcome = files.find((file) => file.path === entry.path)?.outcome;
      return (
        outcome === "removed" || (outcome === undefined && readIfExists(join(dir, entry.path)) === undefined)
      );
    })
    .flatMap((entry) => replacedImports(dir, entry));
}

interface FileContext {
  dir: string;
  manifest: Manifest;
  to: string;
  linked: boolean;
  label: string;
  changes: FileChange[];
}

function writeIfChanged(
  changes: FileChange[],
  path: string,
  content: string,
  current: string | undefined,
): void {
  if (current !== content)
    changes.push({ path, action: current === undefined ? "create" : "overwrite", content });
}

/** Plan one managed file: merge the new render (`theirs`, undefined when the template dropped it) into it. */
function planFile(ctx: FileContext, path: string, theirs: string | undefined): FileUpgrade {
  const { dir, manifest, changes } = ctx;
  const ours = readIfExists(join(dir, path));
  const base = readIfExists(join(dir, BASE_DIR, path));
  const customized = manifest.customized.includes(path);
  // Without a base (deleted by hand) the nearest truth is "what the template renders now".
  const drifted = ours !== undefined && ours !== (base ?? theirs) && !customized && theirs !== undefined;

  if (theirs === undefined) {
    const unedited = ours === undefined || ours === base;
    if (unedited && ours !== undefined) changes.push({ path, action: "delete", content: "" });
    if (base !== undefined) changes.push({ path: `${BASE_DIR}/${path}`, action: "delete", content: "" });
    return { path, outcome: unedited ? "removed" : "kept", drifted: false };
  }
  if (ours === undefined) {
    const isNew = !manifest.managedFiles.includes(path);
    writeIfChanged(changes, `${BASE_DIR}/${path}`, theirs, base);
    if (isNew) writeIfChanged(changes, path, theirs, ours);
    return { path, outcome: isNew ? "created" : "kept", drifted: false };
  }
  // Markers left by an earlier upgrade: nothing is merged into the file (or its base) until they are resolved.
  if (hasConflictMarkers(ours)) return { path, outcome: "conflict", drifted: false, unresolved: true };
  writeIfChanged(changes, `${BASE_DIR}/${path}`, theirs, base);

  const merged = mergeManaged(ctx, path, base, ours, theirs);
  writeIfChanged(changes, path, merged.content, ours);
  const outcome = merged.conflict
    ? "conflict"
    : merged.content === ours
      ? "unchanged"
      : ours === base
        ? "updated"
        : "merged";
  return {
    path,
    outcome,
    drifted: path === "package.json" ? (merged.drifted ?? drifted) && !customized : drifted,
  };
}

/** package.json by key (the toolbox pins are the toolbox's, the rest the service's); every other file by line. */
function mergeManaged(
  ctx: FileContext,
  path: string,
  base: string | undefined,
  ours: string,
  theirs: string,
): MergeOutcome & { drifted?: boolean } {
  if (path === "package.json") {
    const byKey = mergePackageJson(base, ours, theirs);
    if (byKey.content !== undefined)
      return { content: byKey.content, conflict: false, drifted: byKey.drifted };
  }
  // The toolbox pins are bumped on every side first, so a dependency the service added next to them
  // merges cleanly instead of conflicting with the version change on the adjacent lines.
  const bump = (text: string) =>
    path === "package.json" && !ctx.linked ? setToolboxVersions(text, ctx.to) : text;
  return threeWayMerge(bump(base ?? ""), bump(ours), theirs, ctx.label);
}

// `"@worker-toolbox/runtime": "0.1.0"`; `file:` links are left alone.
const TOOLBOX_PIN = /("@worker-toolbox\/[a-z0-9-]+"\s*:\s*")(?!file:)([^"]*)(")/g;

/** `@worker-toolbox/*` pins not yet at `to`, as `name: old → new`. */
function bumpList(text: string | undefined, to: string): string[] {
  return [...(text ?? "").matchAll(TOOLBOX_PIN)]
    .filter((match) => match[2] !== to)
    .map((match) => `${match[1]!.slice(1).split('"')[0]}: ${match[2]} → ${to}`);
}

/** Set every `@worker-toolbox/*` pin to `to`, in place: the rest of package.json keeps its formatting. */
function setToolboxVersions(text: string, to: string): string {
  return text.replace(
    TOOLBOX_PIN,
    (_match, head: string, _version: string, tail: string) => `${head}${to}${tail}`,
  );
}

/** The exit status for `upgrade --check`: 1 when any service is behind, drifted or would conflict. */
export function checkFailed(results: readonly ServiceUpgrade[]): boolean {
  return results.some((result) => result.behind || result.drifted.length > 0 || result.conflicts.length > 0);
}
