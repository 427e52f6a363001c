import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

/** The version of @worker-toolbox/runtime (its package.json, found from this file in src/ or dist/). */
export function runtimeVersion(): string {
  if (cached) return cached;
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "@worker-toolbox/runtime" && pkg.version) {
        cached = pkg.version;
        return cached;
      }
    }
    if (dirname(dir) === dir) return "unknown";
  }
}
