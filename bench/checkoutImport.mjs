/**
 * Import a dependency as another checkout's packages load it (an A/B against a built checkout): its ESM entry
 * resolved from that checkout's node_modules. Imported by name from a bench file instead, a base process would
 * hold two copies (this checkout's and the base's), which shows in its memory and not in what users run.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

export function dependencyOf(root, name) {
  const manifestPath = createRequire(join(root, "package.json")).resolve(`${name}/package.json`);
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
  const dot = typeof manifest.exports === "object" ? manifest.exports["."] : manifest.exports;
  const entry =
    typeof dot === "string" ? dot : (dot?.import ?? dot?.default ?? manifest.module ?? manifest.main);
  return pathToFileURL(join(dirname(manifestPath), entry ?? "index.js")).href;
}
