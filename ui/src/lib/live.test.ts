import { describe, expect, it } from "vitest";
import type { LiveTask, Patch } from "../api/types";
import { applyPatch, applyPatches, countStates, emptyLive, endLive } from "./live";

function task(key: string, state: string, extra: Partial<LiveTask> = {}): LiveTask {
  return {
    key, name: key.split("[")[0], state, attempt: 1, map_index: null, parent: null,
    mapped: false, items: null, started_at: null, ended_at: null, reason: "", error: null,
    cache_hit: null, output: null, ...extra,
  };
}

const run = { state: "running", reason: "", started_at: 1, ended_at: null };

describe("applyPatch", () => {
  it("replaces each touched task whole and keeps the others", () => {
    let s = emptyLive();
    s = applyPatch(s, { seq: 2, run, tasks: { a: task("a", "pending"), b: task("b", "pending") } });
    s = applyPatch(s, { seq: 5, run, tasks: { a: task("a", "succeeded") } });
    expect(s.seq).toBe(5);
    expect(s.tasks.get("a")?.state).toBe("succeeded");
    expect(s.tasks.get("b")?.state).toBe("pending");
  });

  it("ignores a patch it already has (a replay after reconnecting)", () => {
    let s = applyPatch(emptyLive(), { seq: 3, run, tasks: { a: task("a", "running") } });
    const replay: Patch = { seq: 3, run, tasks: { a: task("a", "pending") } };
    expect(applyPatch(s, replay)).toBe(s);
    s = applyPatch(s, { seq: 4, run, tasks: { a: task("a", "failed") } });
    expect(s.tasks.get("a")?.state).toBe("failed");
  });

  it("files a mapped task's items under it in map-index order", () => {
    const item = (i: number, state: string) =>
      task(`t[${i}]`, state, { parent: "t", map_index: i });
    let s = applyPatch(emptyLive(), { seq: 1, run, tasks: { "t[1]": item(1, "ready") } });
    s = applyPatch(s, { seq: 2, run, tasks: { "t[0]": item(0, "running"), "t[1]": item(1, "running") } });
    expect(s.items.get("t")).toEqual(["t[0]", "t[1]"]);
    expect(countStates(s.tasks, s.items.get("t")!)).toEqual({ running: 2 });
  });

  it("folds a burst of patches as if one by one, skipping those it has", () => {
    const one = applyPatch(emptyLive(), { seq: 2, run, tasks: { a: task("a", "running") } });
    const burst: Patch[] = [
      { seq: 1, run, tasks: { a: task("a", "pending") } },
      { seq: 3, run, tasks: { b: task("b", "ready") } },
      { seq: 4, run, tasks: { a: task("a", "succeeded") } },
    ];
    const s = applyPatches(one, burst);
    expect(s.seq).toBe(4);
    expect([...s.tasks.values()].map((t) => [t.key, t.state])).toEqual([["a", "succeeded"], ["b", "ready"]]);
    expect(applyPatches(s, burst)).toBe(s);
  });

  it("marks the end with the run's final state", () => {
    const s = endLive(applyPatch(emptyLive(), { seq: 1, run, tasks: {} }), "succeeded");
    expect(s.ended).toBe(true);
    expect(s.run?.state).toBe("succeeded");
  });
});
