export {
  type BindingInfo,
  createManagementClient,
  deriveManagementUrl,
  type ExchangeInfo,
  type ManagementClient,
  type ManagementClientOptions,
  type QueueInfo,
} from "./client.js";
