/**
 * What CloudWatch would make of the functions' EMF log lines, served as Prometheus text at the local cloud's
 * `/metrics`: Count metrics become counters (`<snake_name>_total`), time metrics summaries
 * (`<snake_name>_<unit>_sum` / `_count`), Seconds gauges of the last value (e.g. the outbox's oldest age).
 */
interface Series {
  readonly kind: 'counter' | 'summary' | 'gauge';
  readonly name: string;
  sum: number;
  count: number;
  last: number;
}

interface EmfDocument {
  readonly _aws?: {
    readonly CloudWatchMetrics?: readonly {
      readonly Namespace?: string;
      readonly Metrics?: readonly { readonly Name: string; readonly Unit?: string }[];
    }[];
  };
  readonly [key: string]: unknown;
}

const snake = (name: string): string =>
  name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9_]/g, '_')
    .toLowerCase();

const seriesOf = (metric: string, unit: string | undefined): Omit<Series, 'sum' | 'count' | 'last'> => {
  const base = snake(metric);
  if (unit === 'Milliseconds' || unit === 'Microseconds') {
    return { kind: 'summary', name: `${base}_${unit.toLowerCase()}` };
  }
  if (unit === 'Seconds') return { kind: 'gauge', name: `${base}_seconds` };
  return { kind: 'counter', name: `${base}_total` };
};

export class EmfMetrics {
  private readonly series = new Map<string, Series>();

  /** Takes one log line; lines that are not EMF documents are ignored. */
  observe(line: string): void {
    const start = line.indexOf('{');
    if (start < 0 || !line.includes('"_aws"')) return;
    let doc: EmfDocument;
    try {
      doc = JSON.parse(line.slice(start)) as EmfDocument;
    } catch {
      return;
    }
    for (const directive of doc._aws?.CloudWatchMetrics ?? []) {
      for (const metric of directive.Metrics ?? []) {
        const raw = doc[metric.Name];
        const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is number => typeof v === 'number');
        const shape = seriesOf(metric.Name, metric.Unit);
        const s = this.series.get(shape.name) ?? { ...shape, sum: 0, count: 0, last: 0 };
        for (const v of values) {
          s.sum += v;
          s.count += 1;
          s.last = v;
        }
        this.series.set(shape.name, s);
      }
    }
  }

  /** Prometheus text exposition format. */
  render(): string {
    const lines: string[] = [];
    for (const s of [...this.series.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      if (s.kind === 'counter') lines.push(`# TYPE ${s.name} counter`, `${s.name} ${s.sum}`);
      else if (s.kind === 'gauge') lines.push(`# TYPE ${s.name} gauge`, `${s.name} ${s.last}`);
      else lines.push(`# TYPE ${s.name} summary`, `${s.name}_sum ${s.sum}`, `${s.name}_count ${s.count}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
