import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/*
 * Every server runs in its own process group, so one signal reaches the whole tree (the shell
 * wrapper, beam.smp and its helpers; the postmaster and its backends). Groups and temp dirs are
 * registered here and removed synchronously on 'exit'/SIGINT/SIGTERM, and by a small reaper
 * process when this one dies without running its handlers (SIGKILL, a crashed test worker).
 */
/** Tracked groups: id → its leader's start time (clock ticks since boot), which tells it from a reuse. */
const groups = new Map<number, string>();
const dirs = new Set<string>();
const stateFile = join(tmpdir(), `wt-servers-${process.pid}.state`);
let installed = false;

export function trackGroup(pgid: number): void {
  groups.set(pgid, startTime(pgid) ?? "");
  sync();
}

export function untrackGroup(pgid: number): void {
  groups.delete(pgid);
  sync();
}

export function trackDir(dir: string): void {
  dirs.add(dir);
  sync();
}

export function untrackDir(dir: string): void {
  dirs.delete(dir);
  sync();
}

/** Kill every tracked group and remove every tracked dir, now. Safe to call twice. */
export function cleanupAllSync(): void {
  for (const pgid of groups.keys()) killGroupIfAlive(pgid);
  groups.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  dirs.clear();
  rmSync(stateFile, { force: true });
}

function sync(): void {
  install();
  const lines = [
    ...[...groups].map(([pgid, started]) => `group ${pgid}:${started}`),
    ...[...dirs].map((dir) => `dir ${dir}`),
  ];
  if (lines.length === 0) rmSync(stateFile, { force: true });
  else writeFileSync(stateFile, `${lines.join("\n")}\n`);
}

const REAPER = `
parent=$1; state=$2
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
[ -f "$state" ] || exit 0
while read -r kind value; do
  case "$kind" in
    group)
      pgid=\${value%%:*}; started=\${value#*:}
      # A live process with the group's number but another start time is a stranger reusing it.
      now=$(sed 's/.*) //' "/proc/$pgid/stat" 2>/dev/null | cut -d' ' -f20)
      if [ -z "$now" ] || [ -z "$started" ] || [ "$now" = "$started" ]; then kill -9 "-$pgid" 2>/dev/null; fi ;;
    dir) rm -rf -- "$value" ;;
  esac
done < "$state"
rm -f -- "$state"
`;

function install(): void {
  if (installed) return;
  installed = true;
  process.once("exit", cleanupAllSync);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    const onSignal = () => {
      cleanupAllSync();
      // Only re-raise when nobody else (e.g. the test runner) handles the signal.
      if (process.listenerCount(signal) <= 1) {
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
  const reaper = spawn("sh", ["-c", REAPER, "wt-reaper", String(process.pid), stateFile], {
    detached: true,
    stdio: "ignore",
  });
  reaper.on("error", () => {});
  reaper.unref();
}

export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Processes of a group; zombies (which may linger when PID 1 does not reap) only when asked. A zombie still
 * pins its pid, so a group with any member, zombie or not, cannot have had its id reused.
 */
export function groupMembers(pgid: number, options: { zombies?: boolean } = {}): number[] {
  const members: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the parenthesised command: state ppid pgrp ...
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const zombie = fields[0] === "Z" || fields[0] === "X";
      if ((options.zombies || !zombie) && Number(fields[2]) === pgid) members.push(Number(entry));
    } catch {
      // The process exited while we looked.
    }
  }
  return members;
}

/*
 * pid_max can be as small as 32768, and a test run starts thousands of processes, so a number that named
 * one of our servers may name a stranger (a test's own child) a minute after the server is gone. Hence a
 * group is signalled only while it still has a member, and a leader only through its ChildProcess handle,
 * which Node never signals once the child has been reaped.
 */
function killGroupIfAlive(pgid: number): void {
  const started = groups.get(pgid);
  const now = startTime(pgid);
  // A leader alive with another start time is a stranger that reuses the number.
  if (started && now && now !== started) return;
  if (groupMembers(pgid, { zombies: true }).length > 0) signalGroup(pgid, "SIGKILL");
}

/**
 * Stop a group this process did not start (a kept server, known from a state file): `signal` to its leader,
 * SIGKILL to the group after `graceMs`. Nothing is signalled when the leader's number now names another
 * process (its start time differs). Resolves once no member is left.
 */
export async function stopKeptGroup(
  pgid: number,
  startedAt: string,
  signal: NodeJS.Signals,
  graceMs: number,
): Promise<void> {
  const now = startTime(pgid);
  if (now !== undefined && now !== startedAt) return;
  if (now !== undefined) {
    try {
      process.kill(pgid, signal);
    } catch {
      // Gone meanwhile.
    }
    if (await waitGroupGone(pgid, graceMs)) return;
  }
  if (groupMembers(pgid).length > 0) signalGroup(pgid, "SIGKILL");
  await waitGroupGone(pgid, 10_000);
}

/** A process's start time (field 22 of /proc/<pid>/stat), or undefined when there is no such process. */
export function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

export async function waitGroupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (groupMembers(pgid).length > 0) {
    if (Date.now() > deadline) return false;
    await delay(100);
  }
  return true;
}

/**
 * Stop the group `leader` leads: `signal` to the leader first (its own shutdown stops the rest), SIGKILL to
 * the whole group after `graceMs`; resolves once no member is left.
 */
export async function stopGroup(
  leader: ChildProcess,
  signal: NodeJS.Signals | null,
  graceMs: number,
): Promise<void> {
  const pgid = leader.pid;
  if (pgid === undefined) return;
  if (
    signal &&
    signal !== "SIGKILL" &&
    leader.exitCode === null &&
    leader.signalCode === null &&
    leader.kill(signal) &&
    (await waitGroupGone(pgid, graceMs))
  ) {
    return;
  }
  killGroupIfAlive(pgid);
  await waitGroupGone(pgid, 10_000);
}

export interface SpawnServerOptions {
  env: NodeJS.ProcessEnv;
  logFile: string;
  cwd?: string;
  uid?: number;
  gid?: number;
  /** The server outlives this process (`worker-toolbox dev`): not killed at exit, nor by the reaper. */
  keep?: boolean;
}

/** Start a long-running server as the leader of a new process group, output appended to a log. */
export function spawnServer(command: string, args: string[], options: SpawnServerOptions): ChildProcess {
  const fd = openSync(options.logFile, "a");
  try {
    const child = spawn(command, args, {
      env: options.env,
      cwd: options.cwd,
      uid: options.uid,
      gid: options.gid,
      detached: true,
      stdio: ["ignore", fd, fd],
    });
    child.on("error", () => {});
    const pgid = child.pid;
    if (pgid !== undefined && !options.keep) {
      trackGroup(pgid);
      // A group left empty by its leader's exit is forgotten at once: its number may soon be reused.
      child.once("exit", () => {
        if (groupMembers(pgid, { zombies: true }).length === 0) untrackGroup(pgid);
      });
    }
    child.unref();
    return child;
  } finally {
    closeSync(fd);
  }
}

export interface CommandResult {
  code: number | null;
  output: string;
}

/** Run a short command, collecting stdout+stderr; never rejects (spawn errors become code null). */
export function runCommand(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; uid?: number; gid?: number; cwd?: string } = {},
): Promise<CommandResult> {
  return new Promise((resolve) => {
    let output = "";
    const child = spawn(command, args, {
      env: options.env,
      cwd: options.cwd,
      uid: options.uid,
      gid: options.gid,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: options.timeoutMs ?? 60_000,
      killSignal: "SIGKILL",
    });
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on("error", (error) => resolve({ code: null, output: `${output}${error.message}` }));
    child.on("close", (code) => resolve({ code, output }));
  });
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
