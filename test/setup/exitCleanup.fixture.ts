// Started by localServers.int.test.ts: starts a PostgreSQL, reports it, then dies without disposing.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startPostgres } from "@worker-toolbox/testing";

const server = await startPostgres();
const pid = Number(readFileSync(join(server.dir, "data", "postmaster.pid"), "utf8").split("\n")[0]);
process.stdout.write(`${JSON.stringify({ dir: server.dir, pid })}\n`);
if (process.argv[2] === "exit") process.exit(3);
setInterval(() => {}, 1000); // "hang": wait to be SIGKILLed
