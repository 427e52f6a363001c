/**
 * `package.json` is merged key by key, not line by line: the `@worker-toolbox/*` pins are the toolbox's,
 * everything else is the service's. A dependency, script or field the service added, changed or removed
 * stays as the service has it; a key the template changed is taken where the service left it as the base
 * had it. Only the toolbox pins can drift.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const DEPENDENCY_FIELDS = ["dependencies", "devDependencies", "peerDependencies", "optionalDependencies"];
const isToolboxPackage = (name: string) => name.startsWith("@worker-toolbox/");
const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const same = (a: Json | undefined, b: Json | undefined) => JSON.stringify(a) === JSON.stringify(b);

function parse(text: string | undefined): JsonObject | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Json;
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Three-way merge of one object; the service wins a key both sides changed. */
function mergeObject(base: JsonObject, ours: JsonObject, theirs: JsonObject): JsonObject {
  const merged: JsonObject = {};
  const keys = [...Object.keys(ours), ...Object.keys(theirs).filter((key) => !(key in ours))];
  for (const key of keys) {
    const [b, o, t] = [base[key], ours[key], theirs[key]];
    if (isObject(o) && isObject(t)) {
      merged[key] = mergeObject(isObject(b) ? b : {}, o, t);
    } else if (key in ours) {
      // The template's change is taken only where the service still has the base's value.
      if (!same(o, b) || key in theirs) merged[key] = same(o, b) ? (t as Json) : (o as Json);
    } else if (!(key in base)) {
      merged[key] = t as Json; // new in the template; a key the service removed stays removed
    }
  }
  return merged;
}

/**
 * The toolbox pins of the template's render, set over the merge result: in place where the service has the
 * package, added (and the map sorted, as npm keeps it) where it does not; pins the template dropped go.
 */
function applyPins(merged: JsonObject, theirs: JsonObject): void {
  for (const field of DEPENDENCY_FIELDS) {
    const pins = isObject(theirs[field]) ? (theirs[field] as JsonObject) : {};
    const current = isObject(merged[field]) ? (merged[field] as JsonObject) : undefined;
    if (!current && Object.keys(pins).every((name) => !isToolboxPackage(name))) continue;
    const deps: JsonObject = { ...current };
    let added = false;
    for (const name of Object.keys(deps)) if (isToolboxPackage(name) && !(name in pins)) delete deps[name];
    for (const [name, version] of Object.entries(pins)) {
      if (!isToolboxPackage(name)) continue;
      added ||= !(name in deps);
      deps[name] = version;
    }
    merged[field] = added
      ? Object.fromEntries(Object.entries(deps).sort(([a], [b]) => a.localeCompare(b)))
      : deps;
  }
}

export interface PackageJsonMerge {
  /** The merged file, or undefined when one side is not a JSON object (then merge it as text). */
  content: string | undefined;
  /** The service's toolbox pins differ from what the template renders: an edit of a toolbox-owned key. */
  drifted: boolean;
}

/** The `@worker-toolbox/*` pins of a package.json, by field. */
function pinsOf(pkg: JsonObject): string {
  return JSON.stringify(
    DEPENDENCY_FIELDS.map((field) =>
      Object.entries(isObject(pkg[field]) ? (pkg[field] as JsonObject) : {}).filter(([name]) =>
        isToolboxPackage(name),
      ),
    ),
  );
}

/** Merge the service's package.json (`ours`) with the old (`base`) and new (`theirs`) template renders. */
export function mergePackageJson(base: string | undefined, ours: string, theirs: string): PackageJsonMerge {
  const [b, o, t] = [parse(base) ?? {}, parse(ours), parse(theirs)];
  if (!o || !t) return { content: undefined, drifted: false };
  const merged = mergeObject(b, o, t);
  applyPins(merged, t);
  const indent = /^\{\n( +|\t)"/.exec(ours)?.[1] ?? 2;
  // Nothing changed but formatting: the service's bytes stay as they are.
  const content =
    JSON.stringify(merged) === JSON.stringify(o) ? ours : `${JSON.stringify(merged, null, indent)}\n`;
  return { content, drifted: pinsOf(o) !== pinsOf(parse(base) ?? t) };
}
