import { orderedCounts, tickStyle } from "../lib/schedules";

/** A tick status as a coloured pill. */
export function TickBadge({ status }: { status: string }) {
  const s = tickStyle(status);
  return (
    <span className="badge" data-status={status} style={{ color: s.color, background: s.tint, borderColor: s.color }}>
      {status}
    </span>
  );
}

/** How many ticks are in each status, as `launched 1 · missed 22`. */
export function TickCounts({ counts }: { counts: Record<string, number> }) {
  const shown = orderedCounts(counts);
  if (shown.length === 0) return <span className="muted">no ticks yet</span>;
  return (
    <span className="tick-counts">
      {shown.map(([status, n]) => (
        <span key={status} className="tick-count" data-status={status} style={{ color: tickStyle(status).color }}>
          {status} {n}
        </span>
      ))}
    </span>
  );
}
