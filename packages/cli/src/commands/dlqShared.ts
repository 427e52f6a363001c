import { type ToolboxConfig, ToolboxError } from "@worker-toolbox/config";
import { type DeadLetterInfo, formatAge } from "@worker-toolbox/runtime/ops";
import type { ChannelModel } from "amqplib";
import { connectOnce } from "../broker.js";
import type { CommandContext, GlobalOptions } from "../context.js";
import { table } from "../output.js";

/**
 * What the `dlq` commands share: their arguments, the broker connection, the letter table. Loaded by the
 * subcommands' handlers only (./dlq.ts), so it may import the runtime.
 */

/** The positional <service> shares its name with the global --service option, so it may arrive as a list. */
export type DlqArgs = Omit<GlobalOptions, "service"> & { service: string | string[]; json: boolean };
export type ListArgs = DlqArgs & { limit?: number; by?: "reason" | "task" };
export type ReplayArgs = DlqArgs & {
  id?: string[];
  task?: string;
  reason?: string;
  all: boolean;
  dryRun: boolean;
  rate?: number;
  wait: boolean;
  waitTimeout: string;
};
export type PurgeArgs = DlqArgs & { yes: boolean };

export function serviceOf(argv: DlqArgs): string {
  const service = Array.isArray(argv.service) ? argv.service[argv.service.length - 1] : argv.service;
  return service ?? "";
}

/** `uses`: the connections the command opens (replay --wait also reads the result database). */
export async function withBroker<T>(
  ctx: CommandContext,
  argv: DlqArgs,
  use: (connection: ChannelModel, config: ToolboxConfig, service: string) => Promise<T>,
  uses: readonly ("broker" | "database")[] = ["broker"],
): Promise<T> {
  const service = serviceOf(argv);
  const config = ctx.loadConfig({ ...argv, service: [service] }, { uses });
  // TCP_NODELAY (brokerSocketOptions): list and replay are a `basic.get` round trip per message.
  const connection = await connectOnce(config);
  try {
    return await use(connection, config, service);
  } finally {
    await connection.close().catch(() => {});
  }
}

export function letterTable(letters: readonly DeadLetterInfo[]): string {
  return table(
    ["task", "id", "reason", "attempts", "age", "error"],
    letters.map((letter) => [
      letter.task ?? "?",
      letter.taskId ?? "?",
      letter.origin === "broker" ? `${letter.reason} (broker)` : letter.reason,
      letter.attempts === undefined ? "-" : String(letter.attempts),
      letter.ageMs === undefined ? "-" : formatAge(letter.ageMs),
      oneLine(
        letter.errorClass
          ? `${letter.errorClass}: ${letter.errorMessage ?? ""}`
          : (letter.errorMessage ?? ""),
      ),
    ]),
  );
}

export function usage(message: string): ToolboxError {
  return new ToolboxError("CONFIG_INVALID", `worker-toolbox dlq: ${message}.`, { hint: "see --help" });
}

export function oneLine(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}
