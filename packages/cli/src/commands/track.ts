import type { Argv } from "yargs";
import type { CommandContext, GlobalOptions } from "../context.js";
import type { CommandBody } from "./table.js";

/** `worker-toolbox track`: run the tracker until SIGTERM/SIGINT. */
export function trackCommand(ctx: CommandContext): CommandBody {
  return {
    builder: (yargs: Argv) =>
      yargs
        .example("$0 track", "record every task ever scheduled")
        .example(
          "WT_TRACKER_PREFETCH=2000 WT_TRACKER_BATCH_SIZE=1000 $0 track",
          "bigger batches (prefetch: two batches)",
        ),
    handler: async (argv) => {
      const config = ctx.loadConfig(argv as GlobalOptions);
      // Imported on use, so `track --help` does not load the runtime (see commands/index.ts).
      const { createLogger, createTracker } = await import("@worker-toolbox/runtime");
      const logger = createLogger(config);
      const tracker = createTracker({ config, logger });
      await tracker.start();
      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          logger.info({ signal }, "stopping tracker");
          resolve();
        };
        process.once("SIGTERM", stop);
        process.once("SIGINT", stop);
      });
      await tracker.close();
      logger.info(tracker.stats, "tracker stopped");
    },
  };
}
