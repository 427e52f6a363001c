import { join, resolve } from "node:path";
import { isToolboxError } from "@worker-toolbox/config";
import { readIfExists } from "./fsPlan.js";
import { TOOLBOX_PACKAGES } from "./render.js";
import { loadTemplate, type TemplateRef } from "./template.js";
import { upgrade } from "./upgrade.js";

/** One service as `worker-toolbox fleet` sees it, compared with the running toolbox's template. */
export interface FleetEntry {
  dir: string;
  service: string;
  template: { version: string; latest: string };
  toolbox: {
    /** The version package.json pins (`linked` for file: dependencies, `mixed` when pins differ). */
    pinned: string;
    /** The version in node_modules (`missing` when not installed, `mixed` when packages differ). */
    installed: string;
    latest: string;
  };
  /** Managed files edited without being listed in `customized`. */
  drifted: string[];
  /** Files still holding conflict markers from an upgrade. */
  conflicted: string[];
  /** Files an upgrade to `latest` would leave in conflict. */
  wouldConflict: string[];
  /** package-lock.json matches package.json (what `npm ci` requires). */
  lockfile: "current" | "stale" | "missing";
  /** current, or what is wrong: behind, conflicted, drifted, not installed, lockfile stale/missing. */
  status: string[];
  /** Set instead of everything above when the directory is not a generated service. */
  error?: string;
}

type Deps = Record<string, string>;
interface PackageJson {
  dependencies?: Deps;
  devDependencies?: Deps;
}
interface Lockfile {
  packages?: Record<string, { version?: string; dependencies?: Deps; devDependencies?: Deps }>;
}

const parse = <T>(text: string | undefined): T | undefined => {
  try {
    return text === undefined ? undefined : (JSON.parse(text) as T);
  } catch {
    return undefined;
  }
};
const one = (values: readonly string[], none: string) =>
  values.length === 0 ? none : new Set(values).size === 1 ? values[0]! : "mixed";
const sameDeps = (a: Deps | undefined, b: Deps | undefined) =>
  JSON.stringify(Object.entries(a ?? {}).sort()) === JSON.stringify(Object.entries(b ?? {}).sort());

function toolboxPins(pkg: PackageJson | undefined): Array<[string, string]> {
  const all = { ...pkg?.dependencies, ...pkg?.devDependencies };
  return TOOLBOX_PACKAGES.map((name) => `@worker-toolbox/${name}`)
    .filter((name) => all[name] !== undefined)
    .map((name) => [name, all[name]!]);
}

/** Whether `npm ci` would accept the lockfile: same ranges as package.json, toolbox pins locked as pinned. */
function lockfileState(dir: string, pkg: PackageJson | undefined): FleetEntry["lockfile"] {
  const lock = parse<Lockfile>(readIfExists(join(dir, "package-lock.json")));
  if (!lock?.packages) return "missing";
  const root = lock.packages[""];
  if (
    !sameDeps(root?.dependencies, pkg?.dependencies) ||
    !sameDeps(root?.devDependencies, pkg?.devDependencies)
  )
    return "stale";
  for (const [name, pin] of toolboxPins(pkg)) {
    if (pin.startsWith("file:")) continue;
    if (lock.packages[`node_modules/${name}`]?.version !== pin) return "stale";
  }
  return "current";
}

function inspect(dir: string, latest: string, templateRef: TemplateRef | undefined): FleetEntry {
  const [check] = upgrade([dir], { check: true, ...(templateRef ? { template: templateRef } : {}) });
  const plan = check!;
  const pkg = parse<PackageJson>(readIfExists(join(dir, "package.json")));
  const pins = toolboxPins(pkg);
  const linked = pins.some(([, pin]) => pin.startsWith("file:"));
  const installed = pins
    .map(([name]) =>
      parse<{ version?: string }>(readIfExists(join(dir, "node_modules", name, "package.json"))),
    )
    .map((found) => found?.version ?? "missing");
  const entry: FleetEntry = {
    dir,
    service: plan.service,
    template: { version: plan.from.template, latest },
    toolbox: {
      pinned: linked
        ? "linked"
        : one(
            pins.map(([, pin]) => pin),
            "none",
          ),
      installed: installed.includes("missing") ? "missing" : one(installed, "missing"),
      latest,
    },
    drifted: plan.drifted,
    conflicted: plan.unresolved,
    wouldConflict: plan.conflicts.filter((path) => !plan.unresolved.includes(path)),
    lockfile: lockfileState(dir, pkg),
    status: [],
  };
  const problems = [
    plan.behind && "behind",
    entry.conflicted.length > 0 && "conflicted",
    entry.drifted.length > 0 && "drifted",
    !linked && entry.toolbox.installed === "missing" && "not installed",
    !linked && !["missing", entry.toolbox.pinned].includes(entry.toolbox.installed) && "installed ≠ pinned",
    entry.lockfile !== "current" && `lockfile ${entry.lockfile}`,
  ];
  entry.status = problems.filter((problem): problem is string => Boolean(problem));
  if (entry.status.length === 0) entry.status = ["current"];
  return entry;
}

/** Inspect every service directory; a directory that is not a service gets an entry with `error`. */
export function fleet(dirs: readonly string[], templateRef?: TemplateRef): FleetEntry[] {
  const latest = loadTemplate(templateRef).version;
  return dirs.map((given) => {
    const dir = resolve(given);
    try {
      return inspect(dir, latest, templateRef);
    } catch (error) {
      if (!isToolboxError(error)) throw error;
      const none = { version: "-", latest };
      return {
        dir,
        service: "-",
        template: none,
        toolbox: { pinned: "-", installed: "-", latest },
        drifted: [],
        conflicted: [],
        wouldConflict: [],
        lockfile: "missing",
        status: ["not a service"],
        error: error.message,
      };
    }
  });
}
