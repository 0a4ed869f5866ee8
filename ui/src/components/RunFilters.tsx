import { useEffect, useState } from "react";
import { RUN_STATE_FILTERS, styleOf } from "../lib/states";

/** A filter the server applies: sent on Enter or when the field is left, not per key. */
function ServerField(props: { label: string; value: string; onCommit: (v: string) => void }) {
  const [text, setText] = useState(props.value);
  useEffect(() => setText(props.value), [props.value]);
  const commit = () => text !== props.value && props.onCommit(text.trim());
  return (
    <input
      placeholder={props.label}
      aria-label={props.label.split(" ")[0]}
      value={text}
      onChange={(e) => setText(e.target.value)}
      onBlur={commit}
      onKeyDown={(e) => e.key === "Enter" && commit()}
    />
  );
}

export interface Filters {
  pipeline: string;
  state: string;
  tag: string;
  param: string;
  search: string;
  view: "table" | "grid";
}

/** The runs list's filters: what the API filters by, and a search within the page. */
export function RunFilters({ filters, onChange }: { filters: Filters; onChange: (f: Filters) => void }) {
  const set = (k: keyof Filters) => (e: { target: { value: string } }) =>
    onChange({ ...filters, [k]: e.target.value });
  return (
    <div className="filters">
      <input
        className="search" placeholder="Search this page" value={filters.search}
        onChange={set("search")} aria-label="search"
      />
      <ServerField label="pipeline" value={filters.pipeline} onCommit={(v) => onChange({ ...filters, pipeline: v })} />
      <select value={filters.state} onChange={set("state")} aria-label="state">
        <option value="">any state</option>
        {RUN_STATE_FILTERS.map((s) => (
          <option key={s} value={s}>{styleOf(s).label}</option>
        ))}
      </select>
      <ServerField label="tag name=value" value={filters.tag} onCommit={(v) => onChange({ ...filters, tag: v })} />
      <ServerField label="param name=value" value={filters.param} onCommit={(v) => onChange({ ...filters, param: v })} />
      <div className="segmented">
        <button
          className={filters.view === "table" ? "on" : ""}
          onClick={() => onChange({ ...filters, view: "table" })}
        >
          Table
        </button>
        <button
          className={filters.view === "grid" ? "on" : ""}
          onClick={() => onChange({ ...filters, view: "grid" })}
        >
          Grid
        </button>
      </div>
    </div>
  );
}
