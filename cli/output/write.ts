// Writers for command output: kubectl/istioctl-style tables and JSON/YAML documents, to stdout.
import { stringify } from 'yaml';

/** kubectl-style columns: upper-case headers, left-aligned, three spaces apart. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('   ').trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n`;
}

/** Writes a table (or `empty` when there are no rows) to stdout. */
export function writeTable(header: readonly string[], rows: readonly (readonly string[])[], empty = 'No resources found.'): void {
  process.stdout.write(rows.length === 0 ? `${empty}\n` : renderTable(header, rows));
}

/** Renders data as pretty JSON or YAML. */
function renderData(format: 'json' | 'yaml', data: unknown): string {
  return format === 'json' ? `${JSON.stringify(data, null, 2)}\n` : stringify(data, { aliasDuplicateObjects: false });
}

export function writeData(format: 'json' | 'yaml', data: unknown): void {
  process.stdout.write(renderData(format, data));
}

/** A duration in ms as operators read it: 850ms, 12.3s, 4m10s, 2h5m. */
export function formatAge(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}
