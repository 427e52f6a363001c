/**
 * The error listener of the benches' plain-JavaScript processes (the raw pipelines use no toolbox code, so
 * not the toolbox's guard in packages/runtime/src/results/poolErrors.ts). pg emits `error` on a pool when an
 * idle client fails and on a client that fails between queries; with no listener Node throws it. A bench
 * process whose database connection drops ends the run loudly instead: one line on stderr naming the process
 * and the connection, exit 1, which the orchestrator reports as that child's exit. A figure measured over a
 * lost connection is not a figure.
 */
export function failOnPgError(emitter, what) {
  emitter.on("error", (error) => {
    const process_ = `${process.argv.slice(1).join(" ")} (pid ${process.pid})`;
    process.stderr.write(`bench: ${process_}: ${what}: database connection failed: ${error.message}\n`);
    process.exit(1);
  });
  return emitter;
}
