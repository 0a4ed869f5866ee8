import { describe, expect, it } from "vitest";
import { compareRows } from "./compare";

describe("compareRows", () => {
  it("keeps params and final metrics and marks those that differ", () => {
    const rows = compareRows({
      columns: ["run", "state", "param.lr", "param.model", "metric.acc", "metric_min.acc", "notes"],
      rows: [
        { run: "a", state: "succeeded", "param.lr": 0.1, "param.model": "svc", "metric.acc": 0.9 },
        { run: "b", state: "succeeded", "param.lr": 0.2, "param.model": "svc", "metric.acc": null },
      ],
    });
    expect(rows.map((r) => [r.column, r.kind, r.differs])).toEqual([
      ["param.lr", "param", true],
      ["param.model", "param", false],
      ["metric.acc", "metric", true],
    ]);
  });
});
