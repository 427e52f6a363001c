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

  it("reads Celery's rate_limit strings as runs a second, and names the task when one is bad", () => {
    const rated = (rateLimit?: string | number) =>
      defineTask({ name: "svc.rated", result: z.null(), rateLimit });
    expect([rated("10/m").rateLimit, rated(4).rateLimit, rated().rateLimit, rated("0").rateLimit]).toEqual([
      1 / 6,
      4,
      null,
      null,
    ]);
    expect(() => rated("fast")).toThrow(/Task svc\.rated: rateLimit "fast" is not a rate/);
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

  describe("argNames: Python's positional-or-keyword parameters", () => {
    // def render(path, scale=1, *, fmt="png")
    const render = defineTask({
      name: "export.render",
      args: z.tuple([z.string(), z.number().default(1)]),
      argNames: ["path", "scale"],
      kwargs: z.strictObject({ fmt: z.enum(["png", "svg"]).default("png") }),
      result: z.string(),
    });

    it("binds keyword arguments to their positions: every Python call form gives the same tuple", () => {
      const calls: [unknown[], Record<string, unknown>][] = [
        [["a.txt", 2], {}], // render.delay("a.txt", 2)
        [["a.txt"], { scale: 2 }], // render.delay("a.txt", scale=2)
        [[], { path: "a.txt", scale: 2 }], // render.delay(path="a.txt", scale=2)
        [[], { scale: 2, path: "a.txt" }], // keyword order does not matter
      ];
      for (const [args, kwargs] of calls) {
        expect(validateCall(render, args, kwargs)).toEqual({ args: ["a.txt", 2], kwargs: { fmt: "png" } });
      }
      // A gap takes its default, as in Python; keyword-only arguments stay keywords.
      expect(validateCall(render, [], { path: "b", fmt: "svg" })).toEqual({
        args: ["b", 1],
        kwargs: { fmt: "svg" },
      });
      expectTypeOf(validateCall(render, [], { path: "x" }).args).toEqualTypeOf<[string, number]>();
    });

    it("refuses an argument given both ways and names a missing one", () => {
      const error = (() => {
        try {
          validateCall(render, ["a.txt"], { path: "b.txt" });
        } catch (e) {
          return e as ContractViolation;
        }
        return undefined;
      })();
      expect(error?.issues).toEqual([
        { path: "kwargs.path", message: "got multiple values for argument 'path'" },
      ]);
      expect(() => validateCall(render, [], { scale: 3 })).toThrow(
        /args\[0\]: expected string, received undefined \(argument 'path'\)/,
      );
    });

    it("checks the names when the contract is defined", () => {
      const define = (argNames: readonly string[]) =>
        defineTask({
          name: "export.bad",
          args: z.tuple([z.string(), z.string()]),
          argNames: argNames as [string, string],
          kwargs: z.strictObject({ fmt: z.string() }),
          result: z.null(),
        });
      expect(() => define(["a", "a"])).toThrow(/names an argument twice/);
      expect(() => define(["a", "fmt"])).toThrow(/also a keyword argument/);
      expect(() => define(["a", "not-python"])).toThrow(/not a Python identifier/);
      expect(() => define(["a", "b", "c"])).toThrow(/names 3 arguments, but args has 2/);
      expect(define(["a", "b"]).argNames).toEqual(["a", "b"]);
    });
  });
});
