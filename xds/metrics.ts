// Prometheus metrics of the xDS server (one registry per server, so tests can run several).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class XdsMetrics {
  readonly registry = new Registry();
  readonly pushes = new Counter({ name: 'skiff_xds_pushes_total', help: 'xDS responses sent, by type URL and protocol', labelNames: ['type_url', 'mode'], registers: [this.registry] });
  readonly pushLatency = new Histogram({
    name: 'skiff_xds_push_duration_seconds',
    help: 'Time from a push being scheduled for a client (snapshot change or new subscription) until its responses are written',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly clients = new Gauge({ name: 'skiff_xds_connected_clients', help: 'Connected xDS streams, by client role and protocol', labelNames: ['role', 'mode'], registers: [this.registry] });
  readonly acks = new Counter({ name: 'skiff_xds_acks_total', help: 'ACKs received, by type URL', labelNames: ['type_url'], registers: [this.registry] });
  readonly nacks = new Counter({ name: 'skiff_xds_nacks_total', help: 'NACKs received (requests with error_detail), by type URL', labelNames: ['type_url'], registers: [this.registry] });
  readonly staleNonces = new Counter({ name: 'skiff_xds_stale_nonces_total', help: 'SotW requests ignored because their nonce was not the latest', labelNames: ['type_url'], registers: [this.registry] });
  readonly connections: Gauge;
  readonly rejectedSnapshots = new Gauge({ name: 'skiff_xds_rejected_snapshots', help: 'Snapshots refused since start (inconsistent or not encodable)', registers: [this.registry] });

  /** `openConnections` reads the open HTTP/2 connections of the server's port at each scrape. */
  constructor(openConnections: () => number = () => 0) {
    this.connections = new Gauge({
      name: 'skiff_xds_connections',
      help: 'Open HTTP/2 connections on the xDS port (each carries one or more xDS and other gRPC streams)',
      registers: [this.registry],
      collect() {
        this.set(openConnections());
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }
}
