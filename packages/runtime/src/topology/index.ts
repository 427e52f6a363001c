export { type AppliedTopology, applyTopology, applyWorkerQueues } from "./applyTopology.js";
export {
  type ExtraEntity,
  extraEntities,
  findExtras,
  type Listings,
  listUnderPrefix,
} from "./extraEntities.js";
export {
  type ArgumentValue,
  bindingName,
  describeMismatch,
  PRUNE_COMMAND,
  parseInequivalentArg,
  type TopologyMismatch,
  TopologyMismatchError,
} from "./mismatch.js";
export { type PruneTopologyOptions, type PruneTopologyResult, pruneTopology } from "./pruneTopology.js";
export { type VerifyTopologyOptions, type VerifyTopologyResult, verifyTopology } from "./verifyTopology.js";
