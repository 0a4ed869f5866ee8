import { styleOf } from "../lib/states";

/** A state as a coloured pill, named as the CLI names it. */
export function StateBadge({ state }: { state: string }) {
  const s = styleOf(state);
  return (
    <span className="badge" data-state={state} style={{ color: s.color, background: s.tint, borderColor: s.color }}>
      {s.label}
    </span>
  );
}

/** A small square of a state's colour (grid cells, legends). */
export function StateDot({ state }: { state: string }) {
  return <span className="dot" style={{ background: styleOf(state).color }} />;
}
