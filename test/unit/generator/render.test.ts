import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  generate,
  loadTemplate,
  renderService,
  templatesRoot,
} from "../../../packages/cli/src/generator/index.js";
import { templateFiles } from "../../../packages/cli/src/generator/template.js";
import { ANSWERS, tempDir } from "./support.js";

// Pinned so the snapshot changes when the template or the config schema does, not on every release.
const TEMPLATE = { dir: join(templatesRoot(), "worker"), version: "0.1.0" };

describe("rendering the worker template", () => {
  it("renders the same tree for the same answers (snapshot)", () => {
    const files = renderService(loadTemplate(TEMPLATE), ANSWERS);
    const tree = Object.fromEntries(
      files.map((file) => [`${file.managed ? "managed" : "owned"}  ${file.path}`, file.content]),
    );
    expect(tree).toMatchSnapshot();
  });

  it("produces one file per template file, with dotfiles renamed, .hbs stripped and names rendered", () => {
    const template = loadTemplate(TEMPLATE);
    const sources = [...templateFiles(template.dir), ...templateFiles(template.taskDir)];
    const paths = renderService(template, ANSWERS).map((file) => file.path);
    expect(paths).toHaveLength(sources.length);
    expect(paths).toEqual(
      expect.arrayContaining([
        ".gitignore",
        ".env.example",
        ".github/workflows/ci.yml",
        "deploy/order-export.service",
        "src/tasks/export-orders.ts",
        "src/handlers/export-orders.ts",
        "test/export-orders.test.ts",
      ]),
    );
    expect(
      paths.filter((path) => path.endsWith(".hbs") || path.includes("{{") || /(^|\/)_/.test(path)),
    ).toEqual([]);
  });

  it("lists every config variable in .env.example, from the schema", async () => {
    const { configFields } = await import("@worker-toolbox/config");
    const env = renderService(loadTemplate(TEMPLATE), ANSWERS).find((file) => file.path === ".env.example")!;
    for (const field of configFields()) expect(env.content).toContain(`# ${field.envVar}=`);
    expect(env.content).toContain("# WT_SERVICE=order-export");
  });

  it("pins the toolbox version, or links a local checkout with file: dependencies", () => {
    const template = loadTemplate(TEMPLATE);
    const pkg = (answers: typeof ANSWERS) =>
      JSON.parse(renderService(template, answers).find((file) => file.path === "package.json")!.content);
    expect(pkg({ ...ANSWERS, toolboxVersion: "0.3.1" }).dependencies["@worker-toolbox/runtime"]).toBe(
      "0.3.1",
    );
    const linked = pkg({ ...ANSWERS, toolboxPath: "/src/worker toolbox" });
    expect(linked.dependencies["@worker-toolbox/config"]).toBe("file:/src/worker toolbox/packages/config");
    // One vitest for the service and the linked conformance package (see render.ts).
    expect(linked.devDependencies.vitest).toBe("file:/src/worker toolbox/node_modules/vitest");
    expect(linked.devDependencies["@worker-toolbox/conformance"]).toBe(
      "file:/src/worker toolbox/packages/conformance",
    );
  });

  it("a description with quotes lands as a proper JSON/TS string literal", () => {
    const answers = { ...ANSWERS, description: 'Says "hi" \\ and <b>bye</b> & more' };
    const files = renderService(loadTemplate(TEMPLATE), answers);
    const pkg = JSON.parse(files.find((file) => file.path === "package.json")!.content);
    expect(pkg.description).toBe(answers.description);
    expect(files.find((file) => file.path === "README.md")!.content).toContain("<b>bye</b> & more");
  });

  it("writes the manifest and a base render of every managed file", () => {
    const dir = tempDir();
    const result = generate({ template: TEMPLATE, answers: ANSWERS, targetDir: join(dir, "svc") });
    expect(result.failures).toEqual([]);
    expect(result.changes.every((change) => change.action === "create")).toBe(true);
    const paths = result.changes.map((change) => change.path);
    expect(paths).toContain(".worker-toolbox.json");
    expect(result.manifest.managedFiles).not.toContain("src/tasks/index.ts");
    expect(result.manifest.managedFiles).not.toContain("src/handlers/export-orders.ts");
    for (const managed of result.manifest.managedFiles)
      expect(paths).toContain(`.worker-toolbox/base/${managed}`);
    expect(result.manifest).toMatchObject({
      template: { name: "worker", version: "0.1.0" },
      toolboxVersion: "0.1.0",
      answers: ANSWERS,
      customized: [],
    });
  });
});
