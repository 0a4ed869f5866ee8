// A mapped task's items as a virtualised list: a 100,000-item map is a scroll of a few dozen
// rows, each with its state.
import { useState } from "react";
import type { LiveTask } from "../api/types";
import { StateBadge } from "../components/StateBadge";
import { VirtualList } from "../components/VirtualList";
import { duration } from "../lib/format";

export function MapItems(props: { items: LiveTask[]; onSelect: (key: string) => void }) {
  const [state, setState] = useState("");
  const shown = state ? props.items.filter((t) => t.state === state) : props.items;
  const states = [...new Set(props.items.map((t) => t.state))].sort();
  return (
    <div className="map-items">
      <div className="filters">
        <select value={state} onChange={(e) => setState(e.target.value)} aria-label="item state">
          <option value="">all {props.items.length} items</option>
          {states.map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
      </div>
      <VirtualList
        items={shown}
        rowHeight={28}
        height={320}
        render={(t) => (
          <div className="item-row" onClick={() => props.onSelect(t.key)}>
            <span className="mono item-key">{t.key}</span>
            <StateBadge state={t.state} />
            <span className="muted">
              {duration(t.started_at != null && t.ended_at != null ? t.ended_at - t.started_at : null)}
            </span>
          </div>
        )}
      />
    </div>
  );
}
