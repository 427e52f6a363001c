import { describe, expect, expectTypeOf, it } from "vitest";
import { z } from "zod";
import {
  ContractViolation,
  contractRegistry,
  defineTask,
  validateCall,
  validateResult,
} from "./contracts.js";

const exportProject = defineTask({
  name: "export.project.v2",
  args: z.tuple([z.string(), z.string()]),
  kwargs: z.strictObject({ outputType: z.enum(["xls", "csv"]).default("xls") }),
  result: z.strictObject({ url: z.string().url() }),
  examples: [{ args: ["org", "proj"], kwargs: { outputType: "csv" } }],
});

describe("defineTask", () => {
  it("parses the name and infers types", () => {
    expect(exportProject).toMatchObject({ service: "export", task: "project", version: 2 });
    expectTypeOf(validateCall(exportProject, ["a", "b"], {}).kwargs.outputType).toEqualTypeOf<
      "xls" | "csv"
    >();
  });

  it("lists every failing path of a bad call", () => {
    try {
      validateCall(exportProject, ["org", 42], { outputType: "pdf", extra: true });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ContractViolation);
      const violation = error as ContractViolation;
      expect(violation.code).toBe("TASK_ARGS_INVALID");
      expect(violation.issues.map((issue) => issue.path)).toEqual([
        "args[1]",
        "kwargs.outputType",
        "kwargs.extra",
      ]);
    }
  });

  it("applies defaults from the schema", () => {
    expect(validateCall(exportProject, ["o", "p"], undefined).kwargs).toEqual({ outputType: "xls" });
  });

  it("validates results", () => {
    expect(validateResult(exportProject, { url: "https://x.test/a.xls" })).toEqual({
      url: "https://x.test/a.xls",
    });
    expect(() => validateResult(exportProject, { url: 3 })).toThrow(
      expect.objectContaining({ code: "TASK_RESULT_INVALID" }),
    );
  });

  it("refuses an example that breaks the contract, and a bad name", () => {
    expect(() =>
      defineTask({
        name: "export.x",
        args: z.tuple([z.number()]),
        result: z.null(),
        examples: [{ args: ["nope" as never] }],
      }),
    ).toThrow(expect.objectContaining({ code: "TASK_ARGS_INVALID" }));
    expect(() => defineTask({ name: "nodot", result: z.null() })).toThrow(
      expect.objectContaining({ code: "TASK_NAME_INVALID" }),
    );
  });

  it("a registry refuses two different contracts with one name", () => {
    const again = defineTask({ name: "export.project.v2", result: z.null() });
    expect(() => contractRegistry([exportProject, again])).toThrow(/Two different contracts/);
    expect(contractRegistry([exportProject, exportProject]).size).toBe(1);
  });
});
