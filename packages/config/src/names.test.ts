import { describe, expect, it } from "vitest";
import { formatDelay, parseTaskName, taskNameProblem } from "./names.js";

describe("task names", () => {
  it("parses <service>.<task> with an optional version", () => {
    expect(parseTaskName("export.project")).toEqual({
      name: "export.project",
      service: "export",
      task: "project",
      version: null,
    });
    expect(parseTaskName("order-fulfilment.ship.v12")).toMatchObject({
      service: "order-fulfilment",
      task: "ship",
      version: 12,
    });
  });

  it.each([
    ["export", "no `<service>.` prefix"],
    ["export.project.v0", "not a version suffix"],
    ["export.project.csv", "not a version suffix"],
    ["Export.project", "not lower kebab-case"],
    ["export.#", "treats specially"],
    ["export.v2", "missing before the version suffix"],
    ["platform.sync", "reserved"],
    ["export.project.v2.extra", "more than three"],
    ["export.9lives", "start with a letter"],
  ])("rejects %s (%s)", (name, reason) => {
    expect(taskNameProblem(name)).toContain(reason);
    expect(() => parseTaskName(name)).toThrow(expect.objectContaining({ code: "TASK_NAME_INVALID" }));
  });

  it("formats delays for queue names", () => {
    expect([500, 1000, 64_000, 120_000, 3_600_000].map(formatDelay)).toEqual([
      "500ms",
      "1s",
      "64s",
      "2m",
      "1h",
    ]);
  });
});
