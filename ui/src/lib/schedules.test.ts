import { describe, expect, it } from "vitest";
import { offsetOf, orderedCounts, progress, wallClock } from "./schedules";

describe("schedule ticks", () => {
  it("orders counts as the filter does and leaves out zeros", () => {
    expect(orderedCounts({ missed: 22, launched: 1, queued: 0, failed: 2 })).toEqual([
      ["launched", 1], ["missed", 22], ["failed", 2],
    ]);
    expect(orderedCounts({ later: 1, queued: 3 })).toEqual([["queued", 3], ["later", 1]]);
  });

  it("counts a backfill's progress as its ticks no longer queued", () => {
    expect(progress({ queued: 3, launched: 1, failed: 1 })).toEqual({ done: 2, total: 5 });
    expect(progress({})).toEqual({ done: 0, total: 0 });
  });

  it("shows an instant's wall clock and its offset", () => {
    expect(wallClock("2026-03-29T02:30:00+02:00")).toBe("2026-03-29 02:30");
    expect(offsetOf("2026-03-29T02:30:00+02:00")).toBe("+02:00");
    expect(offsetOf("2026-03-29T00:30:00+00:00")).toBe("UTC");
  });
});
