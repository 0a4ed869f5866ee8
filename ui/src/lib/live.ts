// The run page's live state: the tasks the first load gave, patched by the run stream. A
// patch carries every task it touched whole, so applying one is a replace per key; the
// state after a patch is the server's fold of the events up to its `seq` (a stream resumed
// with Last-Event-ID sends only what came after, and a replayed patch changes nothing).
import type { LiveRun, LiveTask, Patch } from "../api/types";

export interface LiveState {
  seq: number;
  run: LiveRun | null;
  tasks: Map<string, LiveTask>;
  /** Item keys of each mapped task, in map-index order. */
  items: Map<string, string[]>;
  ended: boolean;
}

export function emptyLive(): LiveState {
  return { seq: 0, run: null, tasks: new Map(), items: new Map(), ended: false };
}

/** The state after `patch` (a new object; the maps are copied only when changed). */
export function applyPatch(state: LiveState, patch: Patch): LiveState {
  return applyPatches(state, [patch]);
}

/** The state after `patches`, in order: the maps are copied once for all of them, so a
 * burst of patches (a big run's history, streamed at first) costs one copy, not one each. */
export function applyPatches(state: LiveState, patches: Patch[]): LiveState {
  let seen = state.seq;
  const fresh = patches.filter((p) => p.seq > seen && (seen = p.seq) > 0);
  if (!fresh.length) return state;
  const tasks = new Map(state.tasks);
  let items = state.items;
  const grown = new Set<string>();
  for (const patch of fresh) for (const [key, task] of Object.entries(patch.tasks)) {
    const known = tasks.has(key);
    tasks.set(key, task);
    if (!known && task.parent != null) {
      if (items === state.items) items = new Map(items);
      if (!grown.has(task.parent)) items.set(task.parent, [...(items.get(task.parent) ?? [])]);
      grown.add(task.parent);
      items.get(task.parent)!.push(key);
    }
  }
  const indexOf = (key: string) => tasks.get(key)?.map_index ?? 0;
  for (const parent of grown) items.get(parent)!.sort((a, b) => indexOf(a) - indexOf(b));
  const last = fresh[fresh.length - 1];
  return { seq: last.seq, run: last.run, tasks, items, ended: state.ended };
}

/** The state once the stream said the run ended. */
export function endLive(state: LiveState, runState: string): LiveState {
  const run = state.run ? { ...state.run, state: runState } : null;
  return { ...state, run, ended: true };
}

/** Counts per state of `keys` (a mapped task's items, say). */
export function countStates(tasks: Map<string, LiveTask>, keys: Iterable<string>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const key of keys) {
    const state = tasks.get(key)?.state;
    if (state) counts[state] = (counts[state] ?? 0) + 1;
  }
  return counts;
}
