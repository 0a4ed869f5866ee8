// A list that renders only the rows in view (fixed row height): 100,000 items cost the
// same few dozen DOM nodes as 30.
import { useEffect, useState, type ReactNode } from "react";

export function VirtualList<T>(props: {
  items: T[];
  rowHeight: number;
  height: number;
  render: (item: T, index: number) => ReactNode;
  className?: string;
  /** Told the rows `[first, last)` drawn, whenever they change (to read them on demand). */
  onRange?: (first: number, last: number) => void;
}) {
  const { items, rowHeight, height, render, onRange } = props;
  const [top, setTop] = useState(0);
  const first = Math.max(0, Math.floor(top / rowHeight) - 5);
  const last = Math.min(items.length, Math.ceil((top + height) / rowHeight) + 5);
  useEffect(() => onRange?.(first, last), [first, last, onRange]);
  const rows: ReactNode[] = [];
  for (let i = first; i < last; i += 1) {
    rows.push(
      <div key={i} className="vrow" style={{ top: i * rowHeight, height: rowHeight }}>
        {render(items[i], i)}
      </div>,
    );
  }
  return (
    <div
      className={`vlist ${props.className ?? ""}`}
      style={{ height: Math.min(height, items.length * rowHeight + 2) }}
      onScroll={(e) => setTop(e.currentTarget.scrollTop)}
    >
      <div style={{ height: items.length * rowHeight, position: "relative" }}>{rows}</div>
    </div>
  );
}
