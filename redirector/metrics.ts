// The agent's Prometheus metrics (its own registry): map sizes, reconcile writes and durations,
// flows by verdict, drops by reason, flow events lost, map capacities, xDS state, and the
// process's default metrics (CPU, memory, event loop).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BpfMap } from '../bpf/libbpf.js';
import { events } from '../bpf/maps/index.js';

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
  readonly eventsLost = new Counter({
    name: 'skiff_redirector_flow_events_lost_total',
    help: 'Flow events the datapath could not queue (ring buffer full), summed over CPUs since the map was created',
    registers: [this.registry],
  });
  readonly mapMaxEntries = new Gauge({ name: 'skiff_redirector_map_max_entries', help: 'Capacity of each kernel map', labelNames: ['map'], registers: [this.registry] });

  /** The kernel's count when last read (the counter goes up by the difference). */
  #lostSeen = 0;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Reads the datapath's maps for the scrape: each map's max_entries (labelled by `labels[kernel
   * name]` when given, so reconciled maps match skiff_redirector_map_entries, else the kernel
   * name) and the per-CPU lost-events counter (skf_ev_lost).
   */
  observeDatapath(maps: readonly BpfMap[], labels: Record<string, string> = {}): void {
    for (const map of maps) {
      if (!map.name.startsWith('skf_')) continue;
      this.mapMaxEntries.set({ map: labels[map.name] ?? map.name }, map.maxEntries);
      if (map.name === events.LOST_MAP_NAME) {
        const value = map.lookup(Buffer.alloc(map.keySize));
        const lost = value ? Number(events.sumLost(map.perCpuValues(value))) : 0;
        if (lost > this.#lostSeen) this.eventsLost.inc(lost - this.#lostSeen);
        this.#lostSeen = lost;
      }
    }
  }
}
