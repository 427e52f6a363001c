import { join, resolve } from "node:path";
import { ToolboxError } from "@worker-toolbox/config";
import { taskPartProblem } from "./answers.js";
import { applyChanges, type FileChange, type FileFailure, readIfExists } from "./fsPlan.js";
import { readManifest } from "./manifest.js";
import { renderSnippet, renderTask, taskContext } from "./render.js";
import { loadTemplate, type TemplateRef } from "./template.js";

export interface AddTaskOptions {
  serviceDir: string;
  /** The task part, e.g. `invoice` for `<service>.invoice`. */
  task: string;
  dryRun?: boolean;
  template?: TemplateRef;
}

export interface AddTaskResult {
  taskName: string;
  changes: FileChange[];
  failures: FileFailure[];
}

/**
 * Add a task to a generated service: its contract, handler and unit test, registered in the task list
 * above the marker comments. Refuses (writing nothing) when a file exists, the task is already listed,
 * or a marker is missing.
 */
export function addTask(options: AddTaskOptions): AddTaskResult {
  const dir = resolve(options.serviceDir);
  const manifest = readManifest(dir);
  const service = manifest.answers.service;
  const problem = taskPartProblem(service, options.task);
  if (problem) {
    throw new ToolboxError(
      "GENERATOR_INVALID_INPUT",
      `Task name ${JSON.stringify(options.task)}: ${problem}.`,
      {
        hint: "use letters, digits and _ starting with a letter, e.g. `invoice` or `send_invoice`; nothing was written",
      },
    );
  }
  const template = loadTemplate(options.template);
  const context = taskContext(service, options.task);
  const files = renderTask(template, service, options.task);
  const existing = files
    .filter((file) => readIfExists(join(dir, file.path)) !== undefined)
    .map((file) => file.path);
  if (existing.length > 0) {
    throw new ToolboxError(
      "GENERATOR_TARGET_NOT_EMPTY",
      `Task ${context.taskName}: ${existing.join(", ")} already exist.`,
      {
        hint: "choose another task name, or remove those files first; nothing was written",
      },
    );
  }

  const spec = template.taskList;
  const listFile = join(dir, spec.file);
  const list = readIfExists(listFile);
  if (list === undefined) {
    throw new ToolboxError("GENERATOR_INVALID_INPUT", `${spec.file} is missing in ${dir}.`, {
      hint: "restore the task list file; `add task` registers tasks in it",
    });
  }
  const importLine = renderSnippet(spec.importLine, context, "template.json taskList.importLine");
  const registerLine = renderSnippet(spec.registerLine, context, "template.json taskList.registerLine");
  if (list.includes(registerLine.trim())) {
    throw new ToolboxError(
      "GENERATOR_INVALID_INPUT",
      `Task ${context.taskName} is already registered in ${spec.file}.`,
      {
        hint: "choose another task name; nothing was written",
      },
    );
  }
  const updated = insertAbove(
    insertAbove(list, spec.importMarker, importLine, spec.file),
    spec.registerMarker,
    registerLine,
    spec.file,
  );

  const changes: FileChange[] = [
    ...files.map((file) => ({ path: file.path, action: "create" as const, content: file.content })),
    { path: spec.file, action: "overwrite", content: updated },
  ];
  const failures = options.dryRun ? [] : applyChanges(dir, changes);
  return { taskName: context.taskName, changes, failures };
}

/** Insert `line` above the line holding `marker`, with the marker line's indentation. */
function insertAbove(text: string, marker: string, line: string, file: string): string {
  const lines = text.split("\n");
  const index = lines.findIndex((candidate) => candidate.includes(marker));
  if (index < 0) {
    throw new ToolboxError("GENERATOR_INVALID_INPUT", `${file} has no marker comment \`${marker}\`.`, {
      hint: `put the line \`// ${marker}\` back where new tasks should be listed; nothing was written`,
    });
  }
  const indent = /^\s*/.exec(lines[index]!)?.[0] ?? "";
  lines.splice(index, 0, indent + line.trim());
  return lines.join("\n");
}
