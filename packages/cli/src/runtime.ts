/**
 * The runtime pieces the CLI uses, imported in one place. Until packages/runtime/src/index.ts exports the
 * topology module this points at its source; switch it to `@worker-toolbox/runtime` once it does
 * (a relative path across packages does not survive `tsc -b`).
 */
export {
  applyTopology,
  classifyBrokerError,
  createManagementClient,
  deriveManagementUrl,
  describeMismatch,
  type TopologyMismatch,
  verifyTopology,
} from "../../runtime/src/topology/index.js";
