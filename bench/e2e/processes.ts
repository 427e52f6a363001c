/** The processes of one end-to-end run (bench/e2e/*.mjs, started as children) and how each is measured. */
import { fileURLToPath } from "node:url";
import { type Child, cpuSeconds, processTree, procMemory, startChild, sumKb } from "../child.js";
import { trackerOf } from "./platformCopy.js";
import { kindOf, type Settings, SYSTEMS, type System } from "./settings.js";

/** A process of a run, with how to read its CPU seconds and peak resident set. */
export interface Measured {
  child: Child;
  cpu(): number;
  peakMb(): number;
}

/** A Node or Python process is measured alone; Celery's wrapper by the Celery processes under it. */
function measured(child: Child, wrapper: boolean): Measured {
  const under = () => processTree(child.pid).slice(1);
  return wrapper
    ? {
        child,
        cpu: () => under().reduce((sum, pid) => sum + cpuSeconds(pid, true), 0),
        peakMb: () => sumKb(under(), "status", "VmHWM"),
      }
    : { child, cpu: () => cpuSeconds(child.pid), peakMb: () => procMemory(child.pid).hwmMb };
}

/** Start the run's worker, then its producer; each once it reported ready. */
export async function startProcesses(
  system: System,
  payloadBytes: number,
  s: Settings,
  roundIndex: number,
  env: NodeJS.ProcessEnv,
  children: Child[],
): Promise<Processes> {
  const spec = SYSTEMS[kindOf(system)];
  const start = (role: string, file: string, flags: string[] = []) => {
    const script = fileURLToPath(new URL(`./${file}`, import.meta.url));
    const label = `${system}-${role}-${payloadBytes}-r${roundIndex + 1}`;
    const child = file.endsWith(".py")
      ? startChild(label, String(env.BENCH_E2E_PYTHON), [script], env)
      : startChild(
          label,
          process.execPath,
          [...s.nodeArgs, ...flags, ...profileArgs(s, label), script, role],
          env,
        );
    children.push(child);
    return child;
  };
  const reader = s.tracker ? trackerOf(system) : undefined;
  const tracker = reader && start(reader[1], reader[0]);
  await tracker?.next("ready");
  const worker = start(spec.worker[1], spec.worker[0], s.workerNodeArgs);
  await worker.next("ready");
  const producer = start("producer", spec.producer);
  await producer.next("ready");
  return {
    worker: measured(worker, system === "celery"),
    producer: measured(producer, false),
    tracker: tracker && measured(tracker, false),
  };
}

export interface Processes {
  worker: Measured;
  producer: Measured;
  tracker?: Measured | undefined;
}

function profileArgs(s: Settings, label: string): string[] {
  if (!s.profileDir) return [];
  return ["--cpu-prof", `--cpu-prof-dir=${s.profileDir}`, `--cpu-prof-name=${label}.cpuprofile`];
}
