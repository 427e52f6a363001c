#!/usr/bin/env node
import { hideBin } from "yargs/helpers";
import { runCli } from "./cli.js";

// process.exitCode rather than process.exit(): pending output is flushed before Node exits.
process.exitCode = await runCli(hideBin(process.argv));
