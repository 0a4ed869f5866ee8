import { styleOf, TASK_STATE_ORDER } from "../lib/states";

/** Counts per state as a row of coloured chips and a proportional bar. */
export function StateCounts({ counts }: { counts: Record<string, number> }) {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const states = TASK_STATE_ORDER.filter((s) => counts[s]);
  return (
    <div className="counts">
      <div className="bar">
        {states.map((s) => (
          <span key={s} style={{ width: `${(100 * counts[s]) / total}%`, background: styleOf(s).color }} />
        ))}
      </div>
      <div className="chips">
        {states.map((s) => (
          <span key={s} className="chip" data-state={s}>
            <span className="dot" style={{ background: styleOf(s).color }} />
            {styleOf(s).label} <b>{counts[s]}</b>
          </span>
        ))}
      </div>
    </div>
  );
}
