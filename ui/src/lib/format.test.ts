import { describe, expect, it } from "vitest";
import { bytes, duration, number } from "./format";
import { mergeRun, searchRuns } from "./runs";
import type { RunSummary } from "../api/types";

describe("format", () => {
  it("reads durations as the CLI does", () => {
    expect(duration(0.25)).toBe("250 ms");
    expect(duration(12.34)).toBe("12.3 s");
    expect(duration(184)).toBe("3 m 04 s");
    expect(duration(7500)).toBe("2 h 05 m");
    expect(duration(null)).toBe("—");
  });
  it("shows numbers with 4 significant digits", () => {
    expect(number(0.981234)).toBe("0.9812");
    expect(number(1500)).toBe("1,500");
    expect(number(null)).toBe("—");
    expect(bytes(1536)).toBe("1.5 KiB");
  });
});

function summary(id: string, created: number, state = "running", pipeline = "p"): RunSummary {
  return {
    run_id: id, pipeline, state, created_at: created, ended_at: null, heartbeat_at: created,
    duration: null, reason: "", params: { lr: 0.1 }, cancel_requested: false,
  };
}

describe("mergeRun", () => {
  const newest = { newestFirst: true, opaque: false };
  it("replaces a known run in place", () => {
    const rows = [summary("b", 2), summary("a", 1)];
    const next = mergeRun(rows, summary("a", 1, "succeeded"), newest);
    expect(next.map((r) => [r.run_id, r.state])).toEqual([["b", "running"], ["a", "succeeded"]]);
  });
  it("puts a new run on top of the newest page only", () => {
    const rows = [summary("a", 1)];
    expect(mergeRun(rows, summary("b", 2), newest).map((r) => r.run_id)).toEqual(["b", "a"]);
    expect(mergeRun(rows, summary("b", 2), { newestFirst: false, opaque: false })).toBe(rows);
  });
  it("leaves out runs the filters exclude, and drops a row that leaves the state filtered", () => {
    const rows = [summary("a", 1)];
    const failedOnly = { ...newest, state: "running" };
    expect(mergeRun(rows, summary("b", 2, "failed"), failedOnly)).toBe(rows);
    expect(mergeRun(rows, summary("a", 1, "succeeded"), failedOnly)).toEqual([]);
    expect(mergeRun(rows, summary("c", 3, "running", "q"), { ...newest, pipeline: "p" })).toBe(rows);
  });
  it("searches ids, pipelines and parameters", () => {
    const rows = [summary("abc", 1), summary("def", 2, "failed", "train")];
    expect(searchRuns(rows, "TRAIN").map((r) => r.run_id)).toEqual(["def"]);
    expect(searchRuns(rows, "0.1")).toHaveLength(2);
  });
});
