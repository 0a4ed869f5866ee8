import { describe, expect, it } from "vitest";
import { columnWindow, compareRows, DEFAULT_PLOTTED, metricNames, plottedNames } from "./compare";

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

describe("the compare page's windows", () => {
  it("draws the columns in view and a couple either side", () => {
    expect(columnWindow(0, 1000, 100, 200)).toEqual([0, 12]);
    expect(columnWindow(5050, 1000, 100, 200)).toEqual([48, 63]);
    expect(columnWindow(19500, 1000, 100, 200)).toEqual([193, 200]);
    expect(columnWindow(0, 1000, 100, 3)).toEqual([0, 3]);
    expect(columnWindow(0, 1000, 100, 0)).toEqual([0, 0]);
  });

  it("plots the metrics the URL names, else the first few", () => {
    const names = ["a", "b", "c", "d", "e", "f", "g"];
    expect(plottedNames(null, names)).toEqual(names.slice(0, DEFAULT_PLOTTED));
    expect(plottedNames(["g", "zz", "b"], names)).toEqual(["g", "b"]);
    expect(plottedNames([""], names)).toEqual([]);
  });

  it("names the metric rows as the series API takes them", () => {
    const rows = compareRows({
      columns: ["param.lr", "metric.acc", "metric.fit/loss", "metric_min.acc"],
      rows: [{ "param.lr": 1, "metric.acc": 0.5, "metric.fit/loss": 2 }],
    });
    expect(metricNames(rows)).toEqual(["acc", "fit/loss"]);
  });
});
