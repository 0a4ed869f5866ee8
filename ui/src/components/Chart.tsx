// Line charts on uPlot: canvas, so 35 curves of 2,000 points draw in milliseconds and the
// DOM holds one canvas, not thousands of SVG paths.
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Curve {
  label: string;
  points: [number, number | null][];
}

const PALETTE = [
  "#3b5bdb", "#e8590c", "#2f9e44", "#ae3ec9", "#1098ad", "#e03131", "#f08c00", "#5c940d",
  "#862e9c", "#0b7285",
];

/** Curves joined on one x axis (the union of their steps), as uPlot wants its data. */
export function aligned(curves: Curve[]): uPlot.AlignedData {
  const xs = [...new Set(curves.flatMap((c) => c.points.map((p) => p[0])))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const ys = curves.map((c) => {
    const y: (number | null)[] = new Array(xs.length).fill(null);
    for (const [x, v] of c.points) y[at.get(x)!] = v;
    return y;
  });
  return [xs, ...ys] as uPlot.AlignedData;
}

export function Chart(props: { title: string; curves: Curve[]; width?: number; height?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const { title, curves } = props;
  useEffect(() => {
    if (!box.current) return;
    const plot = new uPlot(
      {
        title,
        width: props.width ?? box.current.clientWidth ?? 400,
        height: props.height ?? 180,
        scales: { x: { time: false } },
        // Past a dozen curves a legend (and a hover dot per curve: 200 curves, 200 nodes)
        // tells nothing; the chart stays one canvas.
        legend: { show: curves.length <= 12 },
        cursor: { points: { show: curves.length <= 12 } },
        series: [
          { label: "step" },
          ...curves.map((c, i) => ({
            label: c.label,
            stroke: PALETTE[i % PALETTE.length],
            width: 1.5,
            spanGaps: true,
            points: { show: c.points.length < 30 },
          })),
        ],
        axes: [{ stroke: "#868e96" }, { stroke: "#868e96", size: 50 }],
      },
      aligned(curves),
      box.current,
    );
    return () => plot.destroy();
  }, [title, curves, props.width, props.height]);
  return <div className="chart" ref={box} />;
}
