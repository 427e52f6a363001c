export {
  type BindingInfo,
  createManagementClient,
  deriveManagementUrl,
  type ExchangeInfo,
  type ManagementClient,
  type ManagementClientOptions,
  type QueueInfo,
  type QueueRates,
} from "./client.js";
