import { cpSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { compareVersions, describeTemplateChanges } from "../../../scripts/releaseChanges.js";

const templates = fileURLToPath(new URL("../../../templates", import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function copy(): string {
  const dir = mkdtempSync(join(tmpdir(), "wt-release-unit-"));
  dirs.push(dir);
  cpSync(templates, dir, { recursive: true });
  return dir;
}

describe("compareVersions", () => {
  it("orders by major, minor, patch, and a pre-release before its release", () => {
    const sorted = ["1.0.0", "0.10.0", "0.2.0", "1.0.0-rc.1", "0.2.1"].sort(compareVersions);
    expect(sorted).toEqual(["0.2.0", "0.2.1", "0.10.0", "1.0.0-rc.1", "1.0.0"]);
    expect(compareVersions("0.1.0", "0.1.0")).toBe(0);
  });
});

describe("describeTemplateChanges", () => {
  it("is empty for the same template", () => {
    expect(describeTemplateChanges(templates, copy())).toEqual([]);
  });

  it("says per file whether upgrade merges, creates, deletes or leaves it", () => {
    const next = copy();
    writeFileSync(join(next, "worker/Dockerfile"), "FROM node:22-slim\n");
    writeFileSync(join(next, "worker/_github/workflows/lint.yml"), "name: lint\n");
    unlinkSync(join(next, "worker/_dockerignore"));
    writeFileSync(join(next, "worker/package.json.hbs"), "{}\n");
    writeFileSync(join(next, "worker/src/tasks/index.ts.hbs"), "// changed\n");
    writeFileSync(join(next, "task/src/handlers/{{kebabCase task}}.ts.hbs"), "// changed\n");
    const lines = describeTemplateChanges(templates, next);
    expect(lines).toEqual([
      "`Dockerfile` (managed): changed; `upgrade` three-way merges the change into the service's edits (conflicts are marked and reported)",
      "`.dockerignore` (managed): removed; `upgrade` deletes it where unedited, keeps it where edited",
      "`.github/workflows/lint.yml` (managed): added; `upgrade` creates it",
      "`package.json` (managed, merged by key): changed; `upgrade` takes the change for the toolbox pins and for keys the service left as rendered, the service's own keys stay",
      "`src/tasks/index.ts` (the service's own file): changed; `upgrade` leaves it alone, copy the change by hand if wanted",
      "`src/handlers/{{kebabCase task}}.ts` (task template): changed; used by `add task` for new tasks, existing task files are the service's",
    ]);
  });
});
