import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { generatedDocs } from "../../scripts/gen-docs.js";

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
  });
});
