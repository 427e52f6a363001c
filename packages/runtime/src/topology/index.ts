export { type AppliedTopology, applyTopology, applyWorkerQueues } from "./applyTopology.js";
export {
  type ArgumentValue,
  bindingName,
  describeMismatch,
  parseInequivalentArg,
  type TopologyMismatch,
  TopologyMismatchError,
} from "./mismatch.js";
export { type VerifyTopologyOptions, type VerifyTopologyResult, verifyTopology } from "./verifyTopology.js";
