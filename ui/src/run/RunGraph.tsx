// The run's graph as the server laid it out: layers top to bottom, each node at its order
// in its layer (the layer centred): no layout runs in the browser. States come from the
// live stream, falling back to what /graph said.
import { Background, Controls, ReactFlow, useReactFlow, useStore, type Edge } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useEffect, useMemo } from "react";
import type { GraphNode } from "../api/types";
import { countStates, type LiveState } from "../lib/live";
import { MapNode, TaskNode, type TaskFlowNode } from "./GraphNodes";

const X = 220;
const Y = 78;
const nodeTypes = { task: TaskNode, map: MapNode };
/** Fit every node: those outside the first viewport are not rendered (so not measured) and
 * count by their initial size, else the fit would frame only the nodes drawn at zoom 1. */
const FIT = { padding: 0.15, maxZoom: 1.2, includeHiddenNodes: true };
/** A node's size before it is measured (the CSS gives .gnode 190 px; a map's is taller). */
const NODE_W = 190;
const NODE_H = { task: 46, map: 64 };

/** Fits the graph again when its pane changes size (the drawer opens or closes). */
function FitOnResize() {
  const { fitView } = useReactFlow();
  const width = useStore((s) => s.width);
  const height = useStore((s) => s.height);
  useEffect(() => {
    void fitView(FIT);
  }, [width, height, fitView]);
  return null;
}

export interface GraphShape {
  nodes: GraphNode[];
  edges: { source: string; target: string; after?: boolean }[];
}

/** The graph's nodes; a map's counts from ``live`` when it holds all its items, else ``shape``'s. */
export function flowNodes(shape: GraphShape, live: LiveState | null, selected: string | null, countsFromShape = false): TaskFlowNode[] {
  const widths = new Map<number, number>();
  for (const n of shape.nodes) widths.set(n.layer, Math.max(widths.get(n.layer) ?? 0, n.order + 1));
  return shape.nodes.map((n) => {
    const task = live?.tasks.get(n.key);
    const items = live?.items.get(n.key);
    const counts = n.mapped ? (items?.length && live && !countsFromShape ? countStates(live.tasks, items) : n.items) : null;
    return {
      id: n.key,
      type: n.mapped ? "map" : "task",
      initialWidth: NODE_W,
      initialHeight: n.mapped ? NODE_H.map : NODE_H.task,
      position: { x: (n.order - ((widths.get(n.layer) ?? 1) - 1) / 2) * X, y: n.layer * Y },
      data: {
        name: n.name,
        state: task?.state ?? n.state,
        selected: n.key === selected,
        counts,
        attempt: task?.attempt ?? 1,
      },
      draggable: false,
      connectable: false,
    };
  });
}

export function RunGraph(props: {
  shape: GraphShape;
  live: LiveState | null;
  countsFromShape?: boolean;
  selected: string | null;
  onSelect: (key: string) => void;
}) {
  const { shape, live, selected, onSelect, countsFromShape } = props;
  const nodes = useMemo(() => flowNodes(shape, live, selected, countsFromShape), [shape, live, selected, countsFromShape]);
  const edges: Edge[] = useMemo(
    () =>
      shape.edges.map((e) => ({
        id: `${e.source}->${e.target}`,
        source: e.source,
        target: e.target,
        type: "default",
        // a wait-only edge (after=, a branch's decision, what a finally_() follows): the
        // task runs after the other without reading it
        style: e.after
          ? { stroke: "#adb5bd", strokeWidth: 1.25, strokeDasharray: "4 3" }
          : { stroke: "#adb5bd", strokeWidth: 1.25 },
      })),
    [shape],
  );
  return (
    <div className="graph" data-testid="graph">
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        onNodeClick={(_, node) => onSelect(node.id)}
        nodesDraggable={false}
        nodesConnectable={false}
        onlyRenderVisibleElements
        fitView
        fitViewOptions={FIT}
        minZoom={0.05}
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={16} color="#eceef1" />
        <Controls showInteractive={false} />
        <FitOnResize />
      </ReactFlow>
    </div>
  );
}
