import { readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { ToolboxError } from "@worker-toolbox/config";
import type { Answers } from "./answers.js";
import { envExample } from "./envExample.js";
import { camelCase, createRenderer, kebabCase, pascalCase, snakeCase } from "./helpers.js";
import { type Template, templateFiles } from "./template.js";

/** One rendered file; `managed` files are re-rendered and merged by `upgrade`, the rest belong to the service. */
export interface RenderedFile {
  path: string;
  content: string;
  managed: boolean;
}

/** Toolbox packages a generated service depends on. */
export const TOOLBOX_PACKAGES = ["config", "runtime", "testing", "conformance", "cli"] as const;

const VITEST_RANGE = "^4.0.0";
// The conformance test loads the service's contract modules with `import.meta.glob`, a vite feature typed by
// `vite/client`: the service names vite (the range vitest 4 accepts) instead of relying on a hoisted copy.
const VITE_RANGE = "^6.0.0 || ^7.0.0 || ^8.0.0";
const toPosix = (path: string) => path.split("\\").join("/");

/** Everything a template can refer to: the answers plus values computed from them. */
export function renderContext(template: Template, answers: Answers) {
  const version = answers.toolboxVersion ?? template.version;
  const dependency = (pkg: string) =>
    answers.toolboxPath ? `file:${posix.join(toPosix(answers.toolboxPath), "packages", pkg)}` : version;
  const checkoutModule = (name: string) =>
    answers.toolboxPath
      ? `file:${posix.join(toPosix(answers.toolboxPath), "node_modules", name)}`
      : undefined;
  return {
    ...answers,
    template: { name: template.name, version: template.version },
    toolbox: {
      version,
      linked: answers.toolboxPath !== undefined,
      ...Object.fromEntries(TOOLBOX_PACKAGES.map((pkg) => [pkg, dependency(pkg)])),
      // Linked to a checkout, the service must share the checkout's vitest (and the vite it runs on): the
      // conformance package resolves `vitest` from its real path, and two vitest copies in one run do not see
      // each other's tests.
      vitest: checkoutModule("vitest") ?? VITEST_RANGE,
      vite: checkoutModule("vite") ?? VITE_RANGE,
    },
    envExample: envExample(answers.service),
  };
}

/** The per-task values used by the task template and the task-list lines (also by `add task`). */
export function taskContext(service: string, task: string) {
  return {
    service,
    task,
    // Versioned from the start (docs/generator.md): an incompatible change becomes `.v2` beside it.
    taskBase: `${service}.${task}`,
    taskName: `${service}.${task}.v1`,
    taskFile: kebabCase(task),
    contractName: `${camelCase(task)}Task`,
    handlerName: camelCase(task),
    taskTitle: pascalCase(task),
    taskSnake: snakeCase(task),
  };
}

/** Render the service template, and the task template for the first task. Pure: reads templates, writes nothing. */
export function renderService(template: Template, answers: Answers): RenderedFile[] {
  const context = { ...renderContext(template, answers), ...taskContext(answers.service, answers.task) };
  const service = renderDir(template.dir, context, (path) => !template.userOwned.includes(path));
  const task = renderDir(template.taskDir, context, () => false);
  return [...service, ...task].sort((a, b) => a.path.localeCompare(b.path));
}

/** Render only the task template (for `add task`). */
export function renderTask(template: Template, service: string, task: string): RenderedFile[] {
  return renderDir(template.taskDir, { ...taskContext(service, task) }, () => false);
}

/** Render a one-line snippet (task-list lines) with the same helpers and rules as files. */
export function renderSnippet(source: string, context: object, where: string): string {
  return createRenderer()(source, context, where);
}

function renderDir(dir: string, context: object, isManaged: (path: string) => boolean): RenderedFile[] {
  const render = createRenderer();
  return templateFiles(dir).map((source) => {
    const path = outputPath(render(source, context, `${dir}: file name ${source}`), source);
    const raw = readFileSync(join(dir, source), "utf8");
    const content = source.endsWith(".hbs") ? render(raw, context, join(dir, source)) : raw;
    return { path, content, managed: isManaged(path) };
  });
}

/**
 * `.hbs` stripped; a leading `_` in any segment becomes `.` (`_gitignore`, `_github/`), `__x` stays `_x`.
 * The result must stay inside the target: a rendered name with `..` or an absolute path is refused.
 */
export function outputPath(rendered: string, source: string): string {
  const segments = rendered
    .replace(/\.hbs$/, "")
    .split("/")
    .map((segment) => (segment.startsWith("__") ? segment.slice(1) : segment.replace(/^_/, ".")));
  const path = segments.join("/");
  if (
    segments.some((segment) => segment === "" || segment === "." || segment === "..") ||
    path.includes("\\")
  ) {
    throw new ToolboxError(
      "GENERATOR_INVALID_INPUT",
      `Template file ${source} renders to the unsafe path ${JSON.stringify(path)}.`,
      { hint: "answers must not contain path separators or `..`; check the template's file names" },
    );
  }
  return path;
}
