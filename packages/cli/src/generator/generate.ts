import { existsSync, readdirSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { ToolboxError } from "@worker-toolbox/config";
import { type Answers, pathProblem, validateAnswers } from "./answers.js";
import { applyChanges, type FileChange, type FileFailure, planWrite } from "./fsPlan.js";
import { BASE_DIR, MANIFEST_FILE, type Manifest, manifestContent } from "./manifest.js";
import { type RenderedFile, renderService } from "./render.js";
import { loadTemplate, type TemplateRef } from "./template.js";

export interface GenerateOptions {
  template?: TemplateRef;
  answers: Answers;
  targetDir: string;
  /** Plan only: return the changes, write nothing. */
  dryRun?: boolean;
  /** Write into a non-empty directory, overwriting files the template produces. */
  force?: boolean;
}

export interface GenerateResult {
  targetDir: string;
  changes: FileChange[];
  failures: FileFailure[];
  manifest: Manifest;
}

/**
 * Render a new service into `targetDir`. Validates every answer first and refuses a non-empty target
 * without `force`; in both cases nothing is written. Returns the planned changes (written unless dryRun).
 */
export function generate(options: GenerateOptions): GenerateResult {
  const answers = validateAnswers(options.answers);
  const targetProblem = pathProblem(options.targetDir);
  if (targetProblem) {
    throw new ToolboxError(
      "GENERATOR_INVALID_INPUT",
      `Target directory ${JSON.stringify(options.targetDir)}: ${targetProblem}.`,
      {
        hint: "pass --dir with a plain or absolute path; nothing was written",
      },
    );
  }
  const targetDir = resolve(options.targetDir);
  const template = loadTemplate(options.template);
  const files = renderService(template, answers);
  const manifest: Manifest = {
    template: { name: template.name, version: template.version },
    toolboxVersion: answers.toolboxPath ? "linked" : (answers.toolboxVersion ?? template.version),
    // The pinned version lives in toolboxVersion above; `upgrade` moves it.
    answers: withoutVersion(answers),
    managedFiles: files.filter((file) => file.managed).map((file) => file.path),
    customized: [],
  };

  refuseNonEmpty(targetDir, options.force ?? false);
  const changes = serviceFiles(files, manifest).map((file) => planWrite(targetDir, file.path, file.content));
  const failures = options.dryRun ? [] : applyChanges(targetDir, changes);
  return { targetDir, changes, failures, manifest };
}

/** The rendered files plus the manifest and the base renders of managed files. */
export function serviceFiles(
  files: readonly RenderedFile[],
  manifest: Manifest,
): { path: string; content: string }[] {
  return [
    ...files,
    { path: MANIFEST_FILE, content: manifestContent(manifest) },
    ...files
      .filter((file) => file.managed)
      .map((file) => ({ path: `${BASE_DIR}/${file.path}`, content: file.content })),
  ];
}

function withoutVersion(answers: Answers): Answers {
  const { toolboxVersion: _pinned, ...rest } = answers;
  return rest;
}

function refuseNonEmpty(targetDir: string, force: boolean): void {
  if (!existsSync(targetDir)) return;
  if (!statSync(targetDir).isDirectory()) {
    throw new ToolboxError("GENERATOR_TARGET_NOT_EMPTY", `${targetDir} exists and is not a directory.`, {
      hint: "choose another --dir; nothing was written",
    });
  }
  const entries = readdirSync(targetDir);
  if (entries.length === 0 || force) return;
  const shown =
    entries.slice(0, 5).join(", ") + (entries.length > 5 ? `, … (${entries.length} entries)` : "");
  throw new ToolboxError("GENERATOR_TARGET_NOT_EMPTY", `${targetDir} is not empty (${shown}).`, {
    hint: "choose an empty or new --dir, or pass --force to write into it (files the template produces are overwritten); nothing was written",
  });
}
