import { useMemo } from "react";
import type { Series } from "../api/types";
import { Chart } from "../components/Chart";
import { number } from "../lib/format";

/** A task's metrics: a chart per name with more than one point, a value for the others. */
export function TaskMetrics({ series }: { series: Series[] }) {
  const charts = useMemo(
    () => series.filter((s) => s.points.length > 1).map((s) => ({ title: s.name, curves: [{ label: s.name, points: s.points }] })),
    [series],
  );
  const single = series.filter((s) => s.points.length <= 1);
  if (!series.length) return <div className="muted">No metrics logged.</div>;
  return (
    <div>
      {single.length > 0 && (
        <dl className="kv">
          {single.map((s) => (
            <div key={s.name} className="kv-pair"><dt>{s.name}</dt><dd>{number(s.points[0]?.[1] ?? null)}</dd></div>
          ))}
        </dl>
      )}
      {charts.map((c) => <Chart key={c.title} title={c.title} curves={c.curves} width={440} height={160} />)}
    </div>
  );
}
