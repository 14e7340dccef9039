import { writeFileAtomic } from "./files.ts";

/** One metric family in Prometheus' text exposition format. */
export interface Metric {
  name: string;
  help: string;
  type: "gauge" | "counter";
  samples: { labels?: Record<string, string>; value: number }[];
}

const escapeLabel = (value: string) =>
  value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

export function prometheusText(metrics: Metric[]): string {
  const lines: string[] = [];
  for (const metric of metrics) {
    lines.push(`# HELP ${metric.name} ${metric.help}`, `# TYPE ${metric.name} ${metric.type}`);
    for (const { labels = {}, value } of metric.samples) {
      const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
      lines.push(`${metric.name}${pairs.length > 0 ? `{${pairs.join(",")}}` : ""} ${value}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Writes the metrics atomically (a temp file in the same folder, then a rename), as node_exporter's
 * textfile collector needs: it reads only `*.prom` files, so it never sees a half-written one.
 */
export async function writeMetricsFile(path: string, metrics: Metric[]): Promise<void> {
  await writeFileAtomic(path, prometheusText(metrics));
}

/** Seconds since the epoch of an ISO time, 0 when there is none (Prometheus' "never"). */
export const epochSeconds = (iso: string | null | undefined): number =>
  iso ? Math.round(Date.parse(iso) / 10) / 100 : 0;
