// The two kinds of graph node: a task, coloured by its state, and a mapped task drawn as
// one group node with its items' counts per state (expanded in the drawer, never as
// thousands of nodes).
import { Handle, Position, type NodeProps, type Node } from "@xyflow/react";
import { styleOf, TASK_STATE_ORDER } from "../lib/states";

export type TaskNodeData = {
  name: string;
  state: string | null;
  selected: boolean;
  counts: Record<string, number> | null;
  attempt: number;
};

export type TaskFlowNode = Node<TaskNodeData, "task" | "map">;

export function TaskNode({ data }: NodeProps<TaskFlowNode>) {
  const s = styleOf(data.state ?? "pending");
  return (
    <div
      className={`gnode${data.selected ? " selected" : ""}`}
      data-state={data.state ?? "pending"}
      style={{ borderLeftColor: s.color }}
    >
      <Handle type="target" position={Position.Top} />
      <div className="gname">{data.name}</div>
      <div className="gstate" style={{ color: s.color }}>
        {s.label}
        {data.attempt > 1 && <span className="muted"> · attempt {data.attempt}</span>}
      </div>
      <Handle type="source" position={Position.Bottom} />
    </div>
  );
}

export function MapNode({ data }: NodeProps<TaskFlowNode>) {
  const counts = data.counts ?? {};
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const s = styleOf(data.state ?? "pending");
  const states = TASK_STATE_ORDER.filter((k) => counts[k]);
  return (
    <div
      className={`gnode gmap${data.selected ? " selected" : ""}`}
      data-state={data.state ?? "pending"}
      style={{ borderLeftColor: s.color }}
    >
      <Handle type="target" position={Position.Top} />
      <div className="gname">
        {data.name} <span className="muted">× {total || "…"}</span>
      </div>
      <div className="gbar">
        {states.map((k) => (
          <span key={k} style={{ flexGrow: counts[k], background: styleOf(k).color }} />
        ))}
      </div>
      <div className="gcounts">
        {states.map((k) => (
          <span key={k} style={{ color: styleOf(k).color }}>{counts[k]} {styleOf(k).label}</span>
        ))}
      </div>
      <Handle type="source" position={Position.Bottom} />
    </div>
  );
}
