export { classifyBrokerError, vhostOf } from "../broker/classifyError.js";
export {
  type BindingInfo,
  createManagementClient,
  deriveManagementUrl,
  type ExchangeInfo,
  type ManagementClient,
  type ManagementClientOptions,
  type QueueInfo,
} from "../management/client.js";
export { type AppliedTopology, applyTopology } from "./applyTopology.js";
export {
  type ArgumentValue,
  bindingName,
  describeMismatch,
  parseInequivalentArg,
  type TopologyMismatch,
  TopologyMismatchError,
} from "./mismatch.js";
export { type VerifyTopologyOptions, type VerifyTopologyResult, verifyTopology } from "./verifyTopology.js";
