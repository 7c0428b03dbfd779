// Loads the demo's inventory gRPC service (inventory.proto, beside this module) for the server in
// the inventory pod and the clients in the other pods.
import { fileURLToPath } from 'node:url';
import type { ServiceClientConstructor, ServiceDefinition } from '@grpc/grpc-js';
import { loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

export interface ReserveStockReply {
  pod: string;
  version: string;
  reserved: boolean;
  route: string;
}

type InventoryConstructor = ServiceClientConstructor & { service: ServiceDefinition };
let loaded: InventoryConstructor | undefined;

/**
 * The Inventory client constructor, whose `service` is the definition a server adds. The proto is
 * read and parsed once per process: a probe asks for it on every gRPC call.
 */
export function inventoryService(): InventoryConstructor {
  if (loaded) return loaded;
  const definition = loadSync(fileURLToPath(new URL('inventory.proto', import.meta.url)), { keepCase: false, defaults: true });
  const pkg = loadPackageDefinition(definition) as unknown as { shop: { inventory: { v1: { Inventory: InventoryConstructor } } } };
  loaded = pkg.shop.inventory.v1.Inventory;
  return loaded;
}
