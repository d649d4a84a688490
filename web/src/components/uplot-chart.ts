/** The uPlot part of a chart (components/chart.ts), loaded on demand. */
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { ChartOptions, Plot } from "./chart.js";

/** 1, 2, 4, … 512 times each power of 1024: tick steps for bytes. */
const BINARY_STEPS = [0, 1, 2, 3, 4].flatMap((k) =>
  [1, 2, 4, 8, 16, 32, 64, 128, 256, 512].map((m) => m * 1024 ** k),
);

const AXIS = {
  stroke: "#8f8f8f",
  grid: { stroke: "#f0f0f0", width: 1 },
  ticks: { show: false },
  font: "11px system-ui, sans-serif",
};

export function createPlot(target: HTMLElement, options: ChartOptions, width: number): Plot {
  const height = options.height ?? 150;
  const opts: uPlot.Options = {
    width,
    height,
    padding: [8, 8, 0, 0],
    legend: { show: false },
    cursor: {
      drag: { x: false, y: false },
      points: { size: 6 },
      ...(options.syncKey ? { sync: { key: options.syncKey } } : {}),
    },
    scales: {
      // One point alone: uPlot pads it by 86400 / 0.001 s (years, with seconds on the axis).
      // Show the minute that ends with it instead.
      x: {
        time: true,
        range: (u, min, max) => {
          const xs = u.data[0];
          const only = xs?.length === 1 ? xs[0] : undefined;
          if (only !== undefined) return [only - 55, only + 5];
          return max - min < 1 ? [min - 55, max + 5] : [min, max];
        },
      },
      y: {
        range: (_u, _min, max) => [0, Math.max(max, options.minMax ?? 0) * 1.1 || 1],
      },
    },
    axes: [
      { ...AXIS, space: 60 },
      {
        ...AXIS,
        size: 64,
        values: (_u, ticks) => ticks.map((t) => options.format(t)),
        ...(options.binary ? { incrs: BINARY_STEPS } : {}),
      },
    ],
    series: [
      {},
      ...options.series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: 1.5,
        // Points only while there are too few for a line.
        points: { show: (u: uPlot) => (u.data[0]?.length ?? 0) < 3 },
        value: (_u: uPlot, v: number | null) => (v === null ? "—" : options.format(v)),
        ...(s.fill ? { fill: `${s.color}1f` } : {}),
      })),
    ],
  };
  const plot = new uPlot(opts, [[], ...options.series.map(() => [])], target);
  plot.root.setAttribute("aria-hidden", "true");
  return {
    setData(x, ys) {
      plot.setData([x, ...ys] as uPlot.AlignedData);
    },
    resize(w) {
      plot.setSize({ width: w, height });
    },
    destroy() {
      plot.destroy();
    },
  };
}
