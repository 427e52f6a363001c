import { isAbsolute } from "node:path";
import {
  RESERVED_SERVICE_NAMES,
  SERVICE_NAME_PATTERN,
  ToolboxError,
  taskNameProblem,
} from "@worker-toolbox/config";

/** What `worker-toolbox new` asks; every answer has a flag. Stored in `.worker-toolbox.json`. */
export interface Answers {
  /** Lower kebab-case service name: the queue, the task-name prefix and the package name. */
  service: string;
  /** The first task's part after `<service>.`, e.g. `project` for `export.project`. */
  task: string;
  /** One line saying what the service does. */
  description: string;
  packageManager: "npm";
  /** Toolbox version the service pins (default: this toolbox's version). */
  toolboxVersion?: string;
  /** A local toolbox checkout to link (`file:` dependencies) instead of a published version. */
  toolboxPath?: string;
}

export const PACKAGE_MANAGERS = ["npm"] as const;
const VERSION_PATTERN = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

/** Why a service name is unusable, or null. */
export function serviceNameProblem(service: string): string | null {
  if (typeof service !== "string" || service.length === 0) return "it is empty";
  if (service.length > 64) return "it is longer than 64 characters";
  if (!SERVICE_NAME_PATTERN.test(service))
    return "it must be lower kebab-case: letters and digits, words joined by single hyphens, starting with a letter (e.g. `order-export`)";
  if ((RESERVED_SERVICE_NAMES as readonly string[]).includes(service))
    return `\`${service}\` is reserved by the toolbox (reserved: ${RESERVED_SERVICE_NAMES.join(", ")})`;
  return null;
}

/** Why a task part is unusable for the given service, or null. */
export function taskPartProblem(service: string, task: string): string | null {
  if (typeof task !== "string" || task.length === 0) return "it is empty";
  if (task.includes(".")) return "give only the part after `<service>.`, without dots (e.g. `project`)";
  // Checked against a known-good service so the message is about the task part alone.
  const problem = taskNameProblem(`${SERVICE_NAME_PATTERN.test(service) ? service : "service"}.${task}`);
  return problem;
}

/** Text that is copied into generated files: one line, nothing a template engine or a shell would run. */
export function textProblem(text: string): string | null {
  if (typeof text !== "string") return "it is not text";
  if (/[\r\n]/.test(text)) return "it must be a single line";
  if (text.length > 200) return "it is longer than 200 characters";
  if (text.includes("{{") || text.includes("}}")) return "it must not contain `{{` or `}}`";
  if (text.includes("`") || text.includes("$(") || text.includes("${"))
    return "it must not contain backticks, `$(` or `${`";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point.
  if (/[\u0000-\u001f\u007f]/.test(text)) return "it must not contain control characters";
  return null;
}

/** A path given by the user: no `..` segment, no NUL. */
export function pathProblem(path: string): string | null {
  if (typeof path !== "string" || path.length === 0) return "it is empty";
  if (path.includes("\0")) return "it contains a NUL character";
  if (path.split(/[\\/]+/).includes(".."))
    return "it contains a `..` segment (path traversal); give an absolute path instead";
  return null;
}

/** Check every answer and throw one GENERATOR_INVALID_INPUT listing every problem and how to fix it. */
export function validateAnswers(answers: Answers): Answers {
  const problems: string[] = [];
  const add = (flag: string, value: unknown, problem: string | null) => {
    if (problem) problems.push(`${flag} ${JSON.stringify(value)}: ${problem}`);
  };
  add("service name", answers.service, serviceNameProblem(answers.service));
  add("--task", answers.task, taskPartProblem(answers.service, answers.task));
  add("--description", answers.description, textProblem(answers.description));
  if (!(PACKAGE_MANAGERS as readonly string[]).includes(answers.packageManager))
    problems.push(
      `--package-manager ${JSON.stringify(answers.packageManager)}: only ${PACKAGE_MANAGERS.join(", ")} is supported`,
    );
  if (answers.toolboxVersion !== undefined && !VERSION_PATTERN.test(answers.toolboxVersion))
    problems.push(
      `--toolbox-version ${JSON.stringify(answers.toolboxVersion)}: it must be an exact version like 0.1.0`,
    );
  if (answers.toolboxPath !== undefined) {
    const problem =
      pathProblem(answers.toolboxPath) ??
      (isAbsolute(answers.toolboxPath) ? null : "it must be absolute (the CLI resolves it for you)");
    add("--toolbox-path", answers.toolboxPath, problem ?? textProblem(answers.toolboxPath));
  }
  if (answers.toolboxPath !== undefined && answers.toolboxVersion !== undefined)
    problems.push("--toolbox-version and --toolbox-path: give one of them, not both");
  if (problems.length > 0) {
    throw new ToolboxError(
      "GENERATOR_INVALID_INPUT",
      `Cannot generate the service:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`,
      { hint: "fix the values above and run the command again; nothing was written" },
    );
  }
  return answers;
}

/** Exact version check shared by `new --toolbox-version` and `upgrade --to`. */
export function versionProblem(version: string): string | null {
  return VERSION_PATTERN.test(version) ? null : "it must be an exact version like 0.1.0";
}
