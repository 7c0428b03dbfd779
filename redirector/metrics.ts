// The agent's Prometheus metrics (its own registry): map sizes, reconcile writes and durations,
// flows by verdict, drops by reason, xDS state.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export class AgentMetrics {
  readonly registry = new Registry();
  readonly mapEntries = new Gauge({ name: 'skiff_redirector_map_entries', help: 'Entries the agent keeps in each kernel map', labelNames: ['map'], registers: [this.registry] });
  readonly reconciles = new Counter({ name: 'skiff_redirector_reconciles_total', help: 'Reconciles of the kernel maps', registers: [this.registry] });
  readonly reconcileWrites = new Counter({ name: 'skiff_redirector_reconcile_writes_total', help: 'Map entries written (created or changed) by reconciles', labelNames: ['map'], registers: [this.registry] });
  readonly reconcileDeletes = new Counter({ name: 'skiff_redirector_reconcile_deletes_total', help: 'Map entries deleted by reconciles', labelNames: ['map'], registers: [this.registry] });
  readonly reconcileSeconds = new Histogram({
    name: 'skiff_redirector_reconcile_seconds',
    help: 'Time to write one reconcile into the kernel maps',
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly flows = new Counter({ name: 'skiff_redirector_flows_total', help: 'Flow events by verdict', labelNames: ['verdict'], registers: [this.registry] });
  readonly drops = new Counter({ name: 'skiff_redirector_drops_total', help: 'Dropped flows by reason', labelNames: ['reason'], registers: [this.registry] });
  readonly xdsConnected = new Gauge({ name: 'skiff_redirector_xds_connected', help: '1 while the control plane stream is up', registers: [this.registry] });
  readonly xdsResources = new Gauge({ name: 'skiff_redirector_xds_resources', help: 'Resources held per type', labelNames: ['type'], registers: [this.registry] });
  readonly xdsNacks = new Gauge({ name: 'skiff_redirector_xds_nacks', help: 'Responses refused per type', labelNames: ['type'], registers: [this.registry] });
  readonly attached = new Gauge({ name: 'skiff_redirector_attached_interfaces', help: 'Pod interfaces with the datapath attached', registers: [this.registry] });
}
