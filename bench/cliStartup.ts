/**
 * How long one `worker-toolbox` call takes, from spawn to exit, for the command lines users type most:
 * `--help`, a command group's `--help`, and two commands that need no server (`config check`,
 * `topology plan`). Each is run the way a user runs it:
 *   built   `node packages/cli/bin/worker-toolbox.js …` with the packages built (what a service that
 *           installed @worker-toolbox/cli runs: the bin imports dist/main.js);
 *   source  the command the bin runs in the monorepo when nothing is built (tsx, source condition);
 *   npm-wt  `npm run wt -- …` (the monorepo's shortcut: npm itself, then the source path).
 * Next to them: bare `node -e ""` (the floor every Node CLI pays) and `celery --help` (Python Celery's
 * CLI from Debian's python3-celery, what a Celery user types instead), when installed.
 *
 *   npm run build && npx tsx bench/cliStartup.ts
 *   BENCH_CLI_RUNS=15 BENCH_CLI_MODES=built,source  (defaults: 10 runs; built, source, npm-wt)
 *   BENCH_CLI_BASELINE=/tmp/wt-before  another checkout (e.g. `git worktree add /tmp/wt-before <commit>`,
 *       `npm ci`, `npm run build` there), measured in the same rounds: before/after on one machine state
 *
 * Runs interleave (every case once per round) so a busy phase of a shared machine hits every case alike;
 * figures are the median and the 90th percentile of the wall-clock times, and the median CPU time
 * (user + system, from /usr/bin/time; steadier than wall-clock time on a loaded machine), in milliseconds.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { median } from "./stats.js";

const here = fileURLToPath(new URL("../", import.meta.url));
const tsx = import.meta.resolve("tsx");

/** The command lines measured: the name shown in the table and the arguments. */
const COMMANDS: readonly [string, readonly string[]][] = [
  ["--help", ["--help"]],
  ["db --help", ["db", "--help"]],
  ["config check", ["config", "check"]],
  ["topology plan", ["topology", "plan"]],
];

type Mode = "built" | "source" | "npm-wt";
const MODES: Record<Mode, (root: string, args: readonly string[]) => [string, string[]]> = {
  built: (root, args) => [process.execPath, [`${root}packages/cli/bin/worker-toolbox.js`, ...args]],
  source: (root, args) => [
    process.execPath,
    ["--import", tsx, "--conditions=@worker-toolbox/source", `${root}packages/cli/src/main.ts`, ...args],
  ],
  "npm-wt": (_root, args) => ["npm", ["run", "--silent", "wt", "--", ...args]],
};

export interface CliStartupRow {
  mode: string;
  command: string;
  medianMs: number;
  p90Ms: number;
  cpuMs: number;
}

interface Case {
  mode: string;
  command: string;
  file: string;
  args: string[];
  cwd: string;
}

function cases(modes: readonly Mode[], baseline: string | undefined): Case[] {
  const list: Case[] = [
    { mode: "node", command: 'node -e ""', file: process.execPath, args: ["-e", ""], cwd: here },
  ];
  if (spawnSync("/usr/bin/python3", ["-m", "celery", "--version"]).status === 0) {
    list.push({
      mode: "celery",
      command: "celery --help",
      file: "/usr/bin/python3",
      args: ["-m", "celery", "--help"],
      cwd: here,
    });
  }
  const roots: [string, string][] = baseline
    ? [
        ["baseline ", baseline],
        ["", here],
      ]
    : [["", here]];
  for (const mode of modes) {
    for (const [label, root] of roots) {
      for (const [command, args] of COMMANDS) {
        const [file, full] = MODES[mode](root, args);
        list.push({ mode: `${label}${mode}`, command, file, args: full, cwd: root });
      }
    }
  }
  return list;
}

// A clean, fixed environment: development mode, one service, no broker or database variables.
const env = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  WT_MODE: "development",
  WT_SERVICE: "billing",
  NO_COLOR: "1",
};

const scratch = mkdtempSync(`${tmpdir()}/wt-cli-bench-`);
const cpuFile = `${scratch}/cpu`;

/** Wall-clock and CPU milliseconds of one run. */
function timeOnce(run: Case): { wall: number; cpu: number } {
  const started = process.hrtime.bigint();
  const child = spawnSync("/usr/bin/time", ["-o", cpuFile, "-f", "%U %S", run.file, ...run.args], {
    cwd: run.cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const wall = Number(process.hrtime.bigint() - started) / 1e6;
  if (child.status !== 0) {
    throw new Error(`${run.mode} ${run.command} exited ${child.status}: ${child.stderr.toString()}`);
  }
  const [user = 0, system = 0] = readFileSync(cpuFile, "utf8").trim().split(" ").map(Number);
  return { wall, cpu: (user + system) * 1000 };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export function benchCliStartup(): CliStartupRow[] {
  const modes = (process.env.BENCH_CLI_MODES?.split(",") ?? ["built", "source", "npm-wt"]) as Mode[];
  const baseline = process.env.BENCH_CLI_BASELINE?.replace(/\/?$/, "/");
  for (const root of baseline ? [here, baseline] : [here]) {
    if (modes.includes("built") && !existsSync(`${root}packages/cli/dist/main.js`)) {
      throw new Error(`the built mode needs the build: run \`npm run build\` in ${root} first`);
    }
  }
  const runs = Number(process.env.BENCH_CLI_RUNS ?? 10);
  const list = cases(modes, baseline);
  try {
    for (const run of list) timeOnce(run); // warm-up: file cache, tsx's transform cache
    const times = new Map<Case, { wall: number; cpu: number }[]>(list.map((run) => [run, []]));
    for (let round = 0; round < runs; round++) {
      for (const run of list) times.get(run)?.push(timeOnce(run));
    }
    return list.map((run) => {
      const values = times.get(run) ?? [];
      const wall = values.map((value) => value.wall);
      return {
        mode: run.mode,
        command: run.command,
        medianMs: Math.round(median(wall)),
        p90Ms: Math.round(percentile(wall, 90)),
        cpuMs: Math.round(median(values.map((value) => value.cpu))),
      };
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.table(benchCliStartup());
}
