/**
 * The benchmarks' child processes: a process that prints one JSON event a line on stdout
 * (`{"event": "ready", ...}`) and reads commands, one a line, on stdin; and what /proc says about a process
 * (memory, CPU time).
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

export interface Child {
  pid: number;
  /** The event with this name, as soon as it was printed (at once if it already was). */
  next(event: string): Promise<Record<string, unknown>>;
  /** Write one command line to its stdin. */
  send(command: string): void;
  /** Send `stop` and wait for the process to exit. */
  stop(): Promise<void>;
  /** Kill it (SIGKILL) if it is still running. */
  kill(): void;
}

export function startChild(
  label: string,
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Child {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "inherit"] });
  const events = new Map<string, Record<string, unknown>>();
  const waiters = new Map<string, (event: Record<string, unknown>) => void>();
  let failed: Error | undefined;
  const fail = (error: Error) => {
    failed = error;
    for (const wake of waiters.values()) wake({ event: "error" });
  };
  child.on("exit", (code, signal) => fail(new Error(`${label} exited with ${code ?? signal}`)));
  child.stdin.on("error", () => undefined); // a child that already exited: its exit says why
  let buffer = "";
  child.stdout.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      // Node's and Python's own diagnostics also go to stdout: pass them on.
      if (!line.startsWith('{"event"')) {
        process.stderr.write(`${line}\n`);
        continue;
      }
      const event = JSON.parse(line) as Record<string, unknown>;
      events.set(String(event.event), event);
      waiters.get(String(event.event))?.(event);
    }
  });
  return {
    pid: child.pid as number,
    next: (event) =>
      new Promise((resolve, reject) => {
        const seen = events.get(event);
        if (seen) return resolve(seen);
        if (failed) return reject(failed);
        waiters.set(event, (e) => (failed ? reject(failed) : resolve(e)));
      }),
    send: (line) => {
      child.stdin.write(`${line}\n`);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.removeAllListeners("exit");
        child.once("exit", () => resolve());
        child.stdin.write("stop\n");
      }),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

/** kB figures from /proc/<pid>/status, in MB: peak (VmHWM) and current (VmRSS) resident set. */
export function procMemory(pid: number): { hwmMb: number; rssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
  return { hwmMb: kb("VmHWM") / 1024, rssMb: kb("VmRSS") / 1024 };
}

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const TICKS = 100;

/** /proc/<pid>/stat after the command name: [state, ppid, ...]; undefined when the process is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds a process used (user + system) and, with `reaped`, those of the children it waited for
 * (a server's finished workers, e.g. PostgreSQL backends of closed connections).
 */
export function cpuSeconds(pid: number, reaped = false): number {
  const f = statFields(pid);
  if (!f) return 0;
  // utime, stime, cutime, cstime are fields 14-17 of stat, i.e. 11-14 after the state.
  const own = Number(f[11]) + Number(f[12]);
  return (reaped ? own + Number(f[13]) + Number(f[14]) : own) / TICKS;
}

/** Every live process as pid → parent pid. */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(Number(entry));
    if (f) map.set(Number(entry), Number(f[1]));
  }
  return map;
}

/** The pids whose command line contains `marker`, and none of whose ancestors' does (the servers' roots). */
export function rootsByCommandLine(marker: string): number[] {
  const all = parents();
  const matching = new Set<number>();
  for (const pid of all.keys()) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(marker)) matching.add(pid);
    } catch {
      // gone
    }
  }
  const hasMatchingAncestor = (pid: number): boolean => {
    for (let p = all.get(pid); p !== undefined && p > 1; p = all.get(p)) if (matching.has(p)) return true;
    return false;
  };
  return [...matching].filter((pid) => !hasMatchingAncestor(pid));
}

/** `root` and every live process under it, parents before children. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parents()) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!) ?? []));
  return tree;
}

/**
 * CPU seconds of a process tree: every live process under `root` (itself included) with the children each
 * one reaped, so work done by processes that came and went between two readings is still counted.
 */
export function treeCpuSeconds(root: number): number {
  return processTree(root).reduce((sum, pid) => sum + cpuSeconds(pid, true), 0);
}

/** Sum of a kB field over the processes, in MB (0 for processes that are gone). */
export function sumKb(pids: number[], file: "status" | "smaps_rollup", field: string): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      const text = readFileSync(`/proc/${pid}/${file}`, "utf8");
      kb += Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return kb / 1024;
}
