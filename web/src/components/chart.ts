/**
 * A time-series chart: its frame (title, latest value, empty and unavailable states) at once, and
 * the uPlot canvas, loaded on first data (uPlot is a chunk of its own, off the first paint).
 */
import { h } from "../dom.js";

export interface ChartSeries {
  label: string;
  color: string;
  /** Fill under the line. */
  fill?: boolean;
}

export interface ChartOptions {
  title: string;
  series: ChartSeries[];
  /** Formats a y value (axis, legend, latest value). */
  format: (value: number) => string;
  /** Keeps the y axis from 0 up to at least this. */
  minMax?: number;
  /** The y axis counts bytes: ticks on binary steps (64 MB, 128 MB…) rather than decimal ones. */
  binary?: boolean;
  height?: number;
  /** Charts with the same key move their cursors together. */
  syncKey?: string;
  testid?: string;
}

export type ChartState = "loading" | "empty" | "unavailable" | "error" | "data";

export interface Chart {
  el: HTMLElement;
  /** x: seconds since the epoch; ys: one array per series, the same length as x. */
  setData(x: number[], ys: Array<Array<number | null>>): void;
  setState(state: Exclude<ChartState, "data">, message: string): void;
  dispose(): void;
}

export interface Plot {
  setData(x: number[], ys: Array<Array<number | null>>): void;
  resize(width: number): void;
  destroy(): void;
}

let uplot: Promise<typeof import("./uplot-chart.js")> | undefined;
const loadPlot = () => {
  uplot ??= import("./uplot-chart.js");
  return uplot;
};

export function chart(options: ChartOptions): Chart {
  const latest = h("span", { class: "chart-latest" });
  const message = h("div", { class: "chart-message" }, "Loading…");
  const canvas = h("div", { class: "chart-canvas" });
  const el = h(
    "figure",
    {
      class: "chart",
      dataset: { state: "loading", points: "0" },
      "data-testid": options.testid,
    },
    h(
      "figcaption",
      { class: "chart-head" },
      h("span", { class: "chart-title" }, options.title),
      latest,
    ),
    h(
      "div",
      { class: "chart-area", style: { height: `${options.height ?? 150}px` } },
      canvas,
      message,
    ),
    h(
      "div",
      { class: "chart-legend" },
      options.series.map((s) =>
        h(
          "span",
          { class: "chart-key" },
          h("span", { class: "chart-swatch", style: { background: s.color } }),
          s.label,
        ),
      ),
    ),
  );
  let plot: Plot | undefined;
  let creating: Promise<void> | undefined;
  let disposed = false;
  let last: { x: number[]; ys: Array<Array<number | null>> } | undefined;
  const observer = new ResizeObserver(() => {
    if (plot && canvas.clientWidth > 0) plot.resize(canvas.clientWidth);
  });
  observer.observe(canvas);

  const ensurePlot = async () => {
    if (plot || disposed) return;
    creating ??= loadPlot().then((m) => {
      if (disposed) return;
      plot = m.createPlot(canvas, options, Math.max(canvas.clientWidth, 200));
    });
    await creating;
  };

  return {
    el,
    setData(x, ys) {
      last = { x, ys };
      el.dataset.points = String(x.length);
      if (x.length === 0) {
        this.setState("empty", "No data yet");
        return;
      }
      message.hidden = true;
      const values = ys.map((series) => {
        for (let i = series.length - 1; i >= 0; i--) {
          const v = series[i];
          if (v !== null && v !== undefined) return v;
        }
        return undefined;
      });
      latest.textContent = values
        .map((v, i) =>
          v === undefined
            ? ""
            : `${options.series.length > 1 ? `${options.series[i]?.label} ` : ""}${options.format(v)}`,
        )
        .filter(Boolean)
        .join(" · ");
      void ensurePlot().then(() => {
        if (!last || !plot || last.x.length === 0) return;
        plot.setData(last.x, last.ys);
        // "data" once drawn (uPlot loads on first data).
        el.dataset.state = "data";
      });
    },
    setState(state, text) {
      last = undefined;
      el.dataset.state = state;
      message.hidden = false;
      message.textContent = text;
      message.className = `chart-message chart-message-${state}`;
      if (state !== "loading") latest.textContent = "";
      plot?.setData(
        [],
        options.series.map(() => []),
      );
    },
    dispose() {
      disposed = true;
      observer.disconnect();
      plot?.destroy();
    },
  };
}
