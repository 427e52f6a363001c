import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ToolboxError } from "@worker-toolbox/config";
import type { Answers } from "./answers.js";

/** The file every generated service carries; `upgrade` and `add task` read it. */
export const MANIFEST_FILE = ".worker-toolbox.json";
/** Where the template's own render of each managed file is kept: the merge base of the next upgrade. */
export const BASE_DIR = ".worker-toolbox/base";

export interface Manifest {
  $comment?: string;
  template: { name: string; version: string };
  /** The toolbox version the service pins, or `linked` when it uses a local checkout. */
  toolboxVersion: string;
  answers: Answers;
  /** Paths the template manages: re-rendered and three-way merged by `worker-toolbox upgrade`. */
  managedFiles: string[];
  /** Managed files edited on purpose: `upgrade --check` does not count their edits as drift. */
  customized: string[];
}

export function manifestContent(manifest: Manifest): string {
  // A fixed key order, so rewriting an unchanged manifest leaves it byte-identical.
  const ordered: Manifest = {
    $comment:
      "Written by worker-toolbox. `worker-toolbox upgrade` merges template updates into managedFiles using the renders kept in .worker-toolbox/base/ (commit both). List files you edit on purpose in customized.",
    template: manifest.template,
    toolboxVersion: manifest.toolboxVersion,
    answers: manifest.answers,
    managedFiles: manifest.managedFiles,
    customized: manifest.customized,
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

export function readManifest(serviceDir: string): Manifest {
  const file = join(serviceDir, MANIFEST_FILE);
  if (!existsSync(file)) {
    throw new ToolboxError("GENERATOR_INVALID_INPUT", `${serviceDir} has no ${MANIFEST_FILE}.`, {
      hint: "run this in a service created by `worker-toolbox new`, or pass its directory",
    });
  }
  let parsed: Partial<Manifest>;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8")) as Partial<Manifest>;
  } catch (error) {
    throw new ToolboxError("GENERATOR_INVALID_INPUT", `${file} is not valid JSON.`, {
      cause: error,
      hint: "restore it from version control",
    });
  }
  if (!parsed.template?.version || !parsed.answers?.service || !Array.isArray(parsed.managedFiles)) {
    throw new ToolboxError("GENERATOR_INVALID_INPUT", `${file} lacks template, answers or managedFiles.`, {
      hint: "restore it from version control",
    });
  }
  return { customized: [], toolboxVersion: parsed.template.version, ...parsed } as Manifest;
}
