export {
  type BindingInfo,
  configVhost,
  createManagementClient,
  deriveManagementUrl,
  type ExchangeInfo,
  type ManagementClient,
  type ManagementClientOptions,
  managementUrls,
  type QueueInfo,
  type QueueRates,
} from "./client.js";
export { type ClusterState, type NodeState, readClusterState } from "./clusterState.js";
