import cliProgress from "cli-progress";
import type { CommandContext } from "./context.js";

/**
 * Progress of long work on stderr (stdout stays the result): a cli-progress bar with rate and ETA when a
 * person watches stderr, plain lines at most every few seconds (and one at the end) when it is a log — CI,
 * cron, a pipe. Work smaller than `minTotal` shows nothing; it is over before a bar is worth drawing.
 */
export interface Progress {
  /** `done` of `total` so far; `detail` is appended (e.g. "12 replayed"). */
  update(done: number, detail?: string): void;
  /** Finish the bar (or print the last line). */
  stop(): void;
}

export interface ProgressOptions {
  /** What is being done, e.g. "replay", "prune". */
  label: string;
  total: number;
  /** What is counted, e.g. "messages", "rows". */
  unit: string;
  /** Below this total nothing is shown (default 100). */
  minTotal?: number;
  /** Seconds between log lines when not on a terminal (default 5). */
  lineEverySeconds?: number;
}

const SILENT: Progress = { update: () => {}, stop: () => {} };

export function createProgress(ctx: CommandContext, options: ProgressOptions): Progress {
  if (options.total < (options.minTotal ?? 100)) return SILENT;
  const started = Date.now();
  const rate = (done: number) => done / Math.max(0.001, (Date.now() - started) / 1_000);
  if (ctx.io.stderrIsTTY) return terminalBar(ctx, options, rate);
  let lastLine = 0;
  let last: { done: number; detail: string | undefined } = { done: 0, detail: undefined };
  const line = (done: number, detail: string | undefined) => {
    const perSecond = rate(done);
    const left = options.total - done;
    const eta = done > 0 && left > 0 ? `, ETA ${formatSeconds(left / perSecond)}` : "";
    ctx.warn(
      `${options.label}: ${done}/${options.total} ${options.unit} (${Math.round(perSecond)}/s${eta})` +
        (detail ? `, ${detail}` : ""),
    );
  };
  return {
    update(done, detail) {
      last = { done, detail };
      if (Date.now() - lastLine < (options.lineEverySeconds ?? 5) * 1_000) return;
      lastLine = Date.now();
      line(done, detail);
    },
    stop() {
      line(last.done, last.detail);
    },
  };
}

function terminalBar(
  ctx: CommandContext,
  options: ProgressOptions,
  rate: (done: number) => number,
): Progress {
  const bar = new cliProgress.SingleBar(
    {
      format: `${options.label} [{bar}] {value}/{total} ${options.unit} | {rate}/s | ETA {eta_formatted}{detail}`,
      stream: { write: (text: string) => ctx.io.stderr(text), isTTY: true } as unknown as NodeJS.WriteStream,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(options.total, 0, { rate: 0, detail: "" });
  return {
    update: (done, detail) =>
      bar.update(done, { rate: Math.round(rate(done)), detail: detail ? ` | ${detail}` : "" }),
    stop: () => bar.stop(),
  };
}

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  return `${Math.floor(seconds / 60)}m${String(Math.ceil(seconds % 60)).padStart(2, "0")}s`;
}
