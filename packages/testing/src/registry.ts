import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { serverFailed } from "./failure.js";
import { getFreePort } from "./ports.js";
import { delay, spawnServer, trackDir } from "./processes.js";
import { type ServerLifecycle, startServerLifecycle } from "./serverLifecycle.js";

export interface StartRegistryOptions {
  /**
   * The registry that packages outside `localScopes` are fetched from (Verdaccio's uplink), e.g. the
   * output of `npm config get registry`. Without it the registry serves only what is published to it.
   */
  uplink?: string;
  /** Scopes served only from this registry, never from the uplink. Default: `["@worker-toolbox"]`. */
  localScopes?: readonly string[];
  /** How long one start may take; default 60 s. */
  startTimeoutMs?: number;
}

/** A throwaway private npm registry (Verdaccio); start/stop/kill/restart/dispose as every test server. */
export interface RegistryServer extends ServerLifecycle {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  readonly port: number;
  /** A publish token of the registry's one user. */
  readonly token: string;
  /** Temp dir with the config, the package storage and the log. */
  readonly dir: string;
  /** An npmrc (for NPM_CONFIG_USERCONFIG) that points npm at this registry with the token. */
  readonly npmrc: string;
}

const INSTALL_HINT =
  "install verdaccio 6.8 (the last release that runs on Node 20): `npm install -D verdaccio@6.8.0`";

/** Verdaccio's start script, resolved from where this package is installed (an optional peer). */
function verdaccioBin(): string {
  try {
    const require = createRequire(import.meta.url);
    return join(dirname(require.resolve("verdaccio/package.json")), "bin", "verdaccio");
  } catch (error) {
    throw serverFailed("cannot start a test registry: the verdaccio package is not installed", {
      hint: INSTALL_HINT,
      cause: error,
    });
  }
}

/** Verdaccio's YAML config: storage in `dir`, one htpasswd user, local scopes never proxied. */
function verdaccioConfig(dir: string, options: StartRegistryOptions): string {
  const quote = (text: string) => JSON.stringify(text);
  const local = (options.localScopes ?? ["@worker-toolbox"]).map(
    (scope) => `  ${quote(`${scope}/*`)}:\n    access: $all\n    publish: $authenticated\n`,
  );
  const proxy = options.uplink ? "    proxy: upstream\n" : "";
  return [
    `storage: ${quote(join(dir, "storage"))}`,
    `auth:\n  htpasswd:\n    file: ${quote(join(dir, "htpasswd"))}\n    max_users: 1`,
    options.uplink ? `uplinks:\n  upstream:\n    url: ${quote(options.uplink)}\n    timeout: 60s` : "",
    `packages:\n${local.join("")}  "**":\n    access: $all\n    publish: $authenticated\n${proxy}`,
    // A publish of the whole toolbox is a few MB; the default 10mb body limit is enough, but be explicit.
    "max_body_size: 50mb",
    "log: { type: stdout, format: pretty, level: warn }",
  ]
    .filter(Boolean)
    .join("\n");
}

/** Create the registry's user over its CouchDB-style API; returns the user's token. */
async function createUser(url: string): Promise<string> {
  const name = "worker-toolbox-test";
  const response = await fetch(new URL(`-/user/org.couchdb.user:${name}`, url), {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name, password: randomBytes(12).toString("hex") }),
  });
  const body = (await response.json()) as { token?: string; error?: string };
  if (!response.ok || !body.token) {
    throw serverFailed(
      `the test registry at ${url} refused to create a user: ${response.status} ${body.error}`,
    );
  }
  return body.token;
}

/**
 * Start Verdaccio on 127.0.0.1 and a free port, storage in a temp dir, and create a user to publish with.
 * `@worker-toolbox/*` (the `localScopes`) come only from it; everything else through `uplink`.
 */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<RegistryServer> {
  const bin = verdaccioBin();
  const port = await getFreePort();
  const dir = mkdtempSync(join(tmpdir(), "wt-registry-"));
  trackDir(dir);
  const config = join(dir, "config.yaml");
  const log = join(dir, "verdaccio.log");
  writeFileSync(config, verdaccioConfig(dir, options));
  const url = `http://127.0.0.1:${port}/`;
  const name = `test registry on port ${port}`;
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;

  const awaitReady = async (exited: () => string | undefined): Promise<void> => {
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      const how = exited();
      if (how) throw serverFailed(`${name} ${how} while starting (dir ${dir})`, { logs: [log] });
      const ok = await fetch(new URL("-/ping", url)).then(
        (response) => response.ok,
        () => false,
      );
      if (ok) return;
      if (Date.now() > deadline) throw serverFailed(`${name} did not answer in time`, { logs: [log] });
      await delay(100);
    }
  };

  const lifecycle = await startServerLifecycle({
    name,
    dir,
    dataDir: join(dir, "storage"),
    spawn: () =>
      spawnServer(process.execPath, [bin, "--config", config, "--listen", `127.0.0.1:${port}`], {
        env: { ...process.env, NODE_ENV: "production" },
        logFile: log,
        cwd: dir,
      }),
    awaitReady,
    stopSignal: "SIGTERM",
    stopGraceMs: 5_000,
  });
  let token: string;
  try {
    token = await createUser(url);
  } catch (error) {
    await lifecycle.dispose();
    throw error;
  }
  const npmrc = join(dir, "npmrc");
  writeFileSync(npmrc, `registry=${url}\n//127.0.0.1:${port}/:_authToken=${token}\n`, { mode: 0o600 });
  return Object.assign(lifecycle, { url, port, token, dir, npmrc });
}
