import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { isToolboxError } from "@worker-toolbox/config";
import { describe, expect, it } from "vitest";
import { runCli } from "../../../packages/cli/src/cli.js";
import { addTask, generate } from "../../../packages/cli/src/generator/index.js";
import { ANSWERS, captureIo, readTree, tempDir } from "./support.js";

function service(): string {
  const dir = join(tempDir(), "svc");
  generate({ answers: ANSWERS, targetDir: dir });
  return dir;
}

describe("add task", () => {
  it("adds a contract, handler and test and registers them above the markers", async () => {
    const dir = service();
    const { io, cli } = captureIo();
    expect(await runCli(["add", "task", "send_invoice", "--dir", dir], cli), io.err).toBe(0);
    expect(io.out).toContain("Added task order-export.send_invoice.v1");
    const tree = readTree(dir);
    expect(tree["src/tasks/send-invoice.ts"]).toContain('name: "order-export.send_invoice.v1"');
    expect(tree["src/handlers/send-invoice.ts"]).toContain(
      "export const sendInvoice: TaskHandler<typeof sendInvoiceTask>",
    );
    expect(tree["test/send-invoice.test.ts"]).toContain('describe("order-export.send_invoice.v1"');
    expect(tree["src/tasks/index.ts"]).toContain(
      [
        'import { sendInvoice } from "../handlers/send-invoice.js";',
        'import { sendInvoiceTask } from "./send-invoice.js";',
        "// worker-toolbox: task imports",
      ].join("\n"),
    );
    expect(tree["src/tasks/index.ts"]).toMatch(
      / {2}implementTask\(exportOrdersTask, exportOrders\),\n {2}implementTask\(sendInvoiceTask, sendInvoice\),\n {2}\/\/ worker-toolbox: task list/,
    );
  });

  it("refuses a task that exists, a bad name, or a task list without its marker, writing nothing", () => {
    const dir = service();
    addTask({ serviceDir: dir, task: "send_invoice" });
    const before = readTree(dir);
    const codeOf = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return isToolboxError(error) ? `${error.code}: ${error.message}` : String(error);
      }
      return "no error";
    };
    expect(codeOf(() => addTask({ serviceDir: dir, task: "send_invoice" }))).toMatch(
      /^GENERATOR_TARGET_NOT_EMPTY: .*send-invoice\.ts/,
    );
    expect(codeOf(() => addTask({ serviceDir: dir, task: "../evil" }))).toMatch(/^GENERATOR_INVALID_INPUT/);
    expect(codeOf(() => addTask({ serviceDir: dir, task: "a b" }))).toMatch(/^GENERATOR_INVALID_INPUT/);
    expect(readTree(dir)).toEqual(before);

    const list = join(dir, "src/tasks/index.ts");
    writeFileSync(list, before["src/tasks/index.ts"]!.replace(/.*worker-toolbox: task list.*\n/, ""));
    const withoutMarker = readTree(dir);
    expect(codeOf(() => addTask({ serviceDir: dir, task: "refund" }))).toMatch(
      /^GENERATOR_INVALID_INPUT: .*no marker comment `worker-toolbox: task list`/,
    );
    expect(readTree(dir)).toEqual(withoutMarker);
  });
});
