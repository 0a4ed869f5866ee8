import { RUN_STATE_FILTERS, styleOf } from "../lib/states";

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
      <input placeholder="pipeline" value={filters.pipeline} onChange={set("pipeline")} aria-label="pipeline" />
      <select value={filters.state} onChange={set("state")} aria-label="state">
        <option value="">any state</option>
        {RUN_STATE_FILTERS.map((s) => (
          <option key={s} value={s}>{styleOf(s).label}</option>
        ))}
      </select>
      <input placeholder="tag name=value" value={filters.tag} onChange={set("tag")} aria-label="tag" />
      <input placeholder="param name=value" value={filters.param} onChange={set("param")} aria-label="param" />
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
