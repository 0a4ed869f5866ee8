// Task and run states as the CLI shows them (legato.cli.formats.STATE_STYLES): the same
// names and the same colour families, so a run reads alike in a terminal and in the browser.

export type StateName =
  | "pending" | "ready" | "running" | "retry_wait" | "succeeded" | "failed" | "timed_out"
  | "cancelled" | "upstream_failed" | "skipped" | "cancelling" | "rolling_back" | "crashed";

interface StateStyle {
  /** What the state is called on screen. */
  label: string;
  /** The fill of a badge, a graph node, a grid cell. */
  color: string;
  /** A light tint behind it. */
  tint: string;
}

// CLI: green, red, yellow, cyan, magenta, blue, dim.
const GREEN = { color: "#2f9e44", tint: "#ebfbee" };
const RED = { color: "#e03131", tint: "#fff5f5" };
const YELLOW = { color: "#f08c00", tint: "#fff9db" };
const CYAN = { color: "#1098ad", tint: "#e3fafc" };
const MAGENTA = { color: "#ae3ec9", tint: "#f8f0fc" };
const BLUE = { color: "#3b5bdb", tint: "#edf2ff" };
const DIM = { color: "#adb5bd", tint: "#f8f9fa" };
const DIM_CYAN = { color: "#66a8b4", tint: "#f1f8fa" };

export const STATES: Record<StateName, StateStyle> = {
  pending: { label: "pending", ...DIM },
  ready: { label: "ready", ...BLUE },
  running: { label: "running", ...CYAN },
  retry_wait: { label: "retry wait", ...MAGENTA },
  succeeded: { label: "succeeded", ...GREEN },
  failed: { label: "failed", ...RED },
  timed_out: { label: "timed out", ...RED },
  cancelled: { label: "cancelled", ...YELLOW },
  upstream_failed: { label: "upstream failed", ...YELLOW },
  skipped: { label: "skipped", ...DIM_CYAN },
  cancelling: { label: "cancelling", ...YELLOW },
  rolling_back: { label: "rolling back", ...YELLOW },
  crashed: { label: "crashed", ...RED },
};

/** The task states in the order counts are shown (as the CLI's progress line). */
export const TASK_STATE_ORDER: StateName[] = [
  "running", "ready", "retry_wait", "pending", "succeeded", "failed", "timed_out",
  "upstream_failed", "skipped", "cancelled",
];

/** The run states a filter offers (the API's `state` parameter). */
export const RUN_STATE_FILTERS: StateName[] = [
  "pending", "running", "cancelling", "rolling_back", "succeeded", "failed", "cancelled",
  "crashed",
];

const TERMINAL = new Set([
  "succeeded", "failed", "timed_out", "cancelled", "upstream_failed", "skipped",
]);

export function styleOf(state: string): StateStyle {
  return STATES[state as StateName] ?? { label: state, ...DIM };
}

export function isTerminal(state: string): boolean {
  return TERMINAL.has(state);
}
