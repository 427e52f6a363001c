import { readFileSync } from "node:fs";
import { ERROR_CODES } from "@worker-toolbox/config";
import { describe, expect, it } from "vitest";
import { errorCodeDocs, generatedDocs } from "../../scripts/gen-docs.js";

describe("generated docs", () => {
  it("are up to date with the config schema and the CLI", async () => {
    for (const [path, expected] of Object.entries(await generatedDocs())) {
      let actual: string | undefined;
      try {
        actual = readFileSync(path, "utf8");
      } catch {
        actual = undefined;
      }
      expect(actual, `${path} is stale: run npm run docs:gen`).toBe(expected);
    }
  }, 60_000); // renders every command's help: seconds under a loaded machine, not 5

  it("document every error code with a comment", () => {
    const documented = errorCodeDocs();
    expect(documented.map((entry) => entry.code).sort()).toEqual(Object.keys(ERROR_CODES).sort());
    expect(documented.filter((entry) => entry.meaning === "").map((entry) => entry.code)).toEqual([]);
  });
});
