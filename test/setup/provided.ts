// Values test/setup/globalSetup.ts provides to the integration project (read with `inject`).
declare module "vitest" {
  export interface ProvidedContext {
    amqpUrl: string;
    databaseUrl: string;
    /** "" when the broker's management API is unknown (AMQP_URL set without RABBITMQ_MANAGEMENT_URL). */
    managementUrl: string;
  }
}

export {};
