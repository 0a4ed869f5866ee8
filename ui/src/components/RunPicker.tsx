// Choose runs to compare: the newest runs (of a pipeline, if given) with a box each, read
// when the list is opened.
import { useState } from "react";
import { api } from "../api/client";
import { ago, shortId } from "../lib/format";
import { useApi } from "../lib/hooks";
import { StateBadge } from "./StateBadge";

export function RunPicker({ chosen, onChange }: { chosen: string[]; onChange: (ids: string[]) => void }) {
  const [pipeline, setPipeline] = useState("");
  const [open, setOpen] = useState(chosen.length === 0); // open until closed, not per choice
  // Read when the list is open: a page of chosen runs need not wait on it.
  const runs = useApi(() => (open ? api.runs({ pipeline, limit: 30 }) : Promise.resolve(null)), [pipeline, open]);
  const now = Date.now() / 1000;
  const toggle = (id: string) =>
    onChange(chosen.includes(id) ? chosen.filter((x) => x !== id) : [...chosen, id].slice(-20));
  return (
    <details className="picker" open={open} onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>{chosen.length} runs chosen · choose runs</summary>
      <input placeholder="pipeline" value={pipeline} onChange={(e) => setPipeline(e.target.value)} />
      <div className="picker-list">
        {(runs.data?.runs ?? []).map((r) => (
          <label key={r.run_id} className="picker-row">
            <input type="checkbox" checked={chosen.some((c) => r.run_id.startsWith(c))} onChange={() => toggle(r.run_id)} />
            <span className="mono">{shortId(r.run_id)}</span>
            <StateBadge state={r.state} />
            <span>{r.pipeline}</span>
            <span className="muted">{ago(r.created_at, now)}</span>
          </label>
        ))}
      </div>
    </details>
  );
}
