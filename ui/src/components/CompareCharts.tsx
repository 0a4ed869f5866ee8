// The compare page's charts: each chosen metric's curves of every run overlaid on one chart.
// A chart reads its metric alone, for all the runs in one request (GET /compare/series), when
// it is chosen: 200 runs × 50 metrics is not read for a page that shows a few of them.
import { useMemo } from "react";
import { api } from "../api/client";
import { shortId } from "../lib/format";
import { useApi } from "../lib/hooks";
import { Chart, type Curve } from "./Chart";

const WIDTH = 460;
const POINTS = 500; // a 460-px chart shows no more

// The charts' requests, one at a time: the server answers them one after another anyway,
// and so the first chart is drawn as soon as its own answer is in, not when all are.
let turn: Promise<unknown> = Promise.resolve();
function inTurn<T>(load: () => Promise<T>): Promise<T> {
  const next = turn.then(load, load);
  turn = next.catch(() => undefined);
  return next;
}

export function MetricPicker(props: { names: string[]; plotted: string[]; onChange: (names: string[]) => void }) {
  const { names, plotted, onChange } = props;
  const toggle = (name: string) =>
    onChange(plotted.includes(name) ? plotted.filter((n) => n !== name) : names.filter((n) => n === name || plotted.includes(n)));
  return (
    <details className="metric-picker" open={names.length <= 12}>
      <summary>{plotted.length} of {names.length} metrics plotted · choose</summary>
      <div className="metric-names">
        {names.map((name) => (
          <label key={name} className="metric-name">
            <input type="checkbox" checked={plotted.includes(name)} onChange={() => toggle(name)} />
            <span className="mono">{name}</span>
          </label>
        ))}
      </div>
    </details>
  );
}

export function CompareChart({ runIds, name }: { runIds: string[]; name: string }) {
  const found = useApi(() => inTurn(() => api.compareSeries(runIds, name, POINTS)), [runIds.join(","), name]);
  const curves = useMemo(() => {
    const shown: Curve[] = [];
    for (const run of found.data?.runs ?? []) {
      for (const s of run.series) {
        if (s.points.length < 2) continue;
        shown.push({ label: `${shortId(run.run_id)} ${s.task}`, points: s.points });
      }
    }
    return shown;
  }, [found.data]);
  if (found.error) return <div className="chart error">{name}: {found.error}</div>;
  if (!found.data) return <div className="chart loading" data-metric={name}>{name}: loading…</div>;
  if (curves.length === 0) return null; // a single value per run: the table shows it
  return <Chart title={name} curves={curves} width={WIDTH} />;
}
