import {
  type ConfigRole,
  type Connection,
  type DeepPartial,
  loadConfig,
  type ToolboxConfig,
  type ToolboxConfigInput,
} from "@worker-toolbox/config";

/** Where a command writes and what it reads: the real process, or strings in a test. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  /** A person is watching stdout / stderr (a terminal): tables and progress bars instead of lines. */
  stdoutIsTTY?: boolean;
  stderrIsTTY?: boolean;
}

/** Options every command accepts (registered once in cli.ts). */
export interface GlobalOptions {
  config?: string;
  envPrefix?: string;
  service?: string[];
  amqpUrl?: string;
  databaseUrl?: string;
}

/** Handed to every command group: output, exit code and config loading with the global flags applied. */
export interface CommandContext {
  io: CliIo;
  /** Print a line (a trailing newline is added). */
  print(text?: string): void;
  /** Print a line to stderr. */
  warn(text: string): void;
  /** 0 ok, 1 a check failed, 2 usage or config error; the highest value set wins. */
  fail(code: 1 | 2): void;
  /**
   * Resolve the config: defaults < preset < file < env < flags. Throws ConfigError. `uses`: the connections
   * the command opens (default both); the URL of one it never opens need not be set
   * (LoadConfigOptions.localDefaults). `role`: what it is validated for (roles.ts); default `tools` when it
   * opens the database, else `producer` (no database.url needed).
   */
  loadConfig(
    argv: GlobalOptions,
    options?: { uses?: readonly Connection[]; role?: ConfigRole },
  ): ToolboxConfig;
}

export function createContext(io: CliIo, state: { exitCode: number }): CommandContext {
  return {
    io,
    print: (text = "") => io.stdout(`${text}\n`),
    warn: (text) => io.stderr(`${text}\n`),
    fail: (code) => {
      state.exitCode = Math.max(state.exitCode, code);
    },
    loadConfig: (argv, options = {}) =>
      loadConfig({
        localDefaults: (["broker", "database"] as const).filter((c) => !(options.uses ?? [c]).includes(c)),
        env: io.env,
        role: options.role ?? ((options.uses ?? ["database"]).includes("database") ? "tools" : "producer"),
        ...(argv.config ? { file: argv.config } : {}),
        overrides: overridesFrom(argv),
      }),
  };
}

function overridesFrom(argv: GlobalOptions): DeepPartial<ToolboxConfigInput> {
  const overrides: DeepPartial<ToolboxConfigInput> = {};
  if (argv.envPrefix) overrides.environment = { prefix: argv.envPrefix };
  // Several --service flags plan several services; the config's own service is the first.
  if (argv.service?.[0]) overrides.service = argv.service[0];
  if (argv.amqpUrl) overrides.broker = { url: argv.amqpUrl };
  if (argv.databaseUrl) overrides.database = { url: argv.databaseUrl };
  return overrides;
}

/** The services named with --service, else the config's own service. */
export function servicesFrom(argv: GlobalOptions, config: ToolboxConfig): string[] {
  if (argv.service && argv.service.length > 0) return argv.service;
  return config.service ? [config.service] : [];
}
