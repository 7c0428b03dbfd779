// Loads the demo's inventory gRPC service (inventory.proto, beside this module) for the server in
// the inventory pod and the clients in the other pods.
import { fileURLToPath } from 'node:url';
import type { ServiceClientConstructor, ServiceDefinition } from '@grpc/grpc-js';
import { loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

export const INVENTORY_SERVICE = 'shop.inventory.v1.Inventory';

export interface ReserveStockReply {
  pod: string;
  version: string;
  reserved: boolean;
  route: string;
}

/** The Inventory client constructor, whose `service` is the definition a server adds. */
export function inventoryService(): ServiceClientConstructor & { service: ServiceDefinition } {
  const definition = loadSync(fileURLToPath(new URL('inventory.proto', import.meta.url)), { keepCase: false, defaults: true });
  const pkg = loadPackageDefinition(definition) as unknown as { shop: { inventory: { v1: { Inventory: ServiceClientConstructor } } } };
  return pkg.shop.inventory.v1.Inventory;
}
