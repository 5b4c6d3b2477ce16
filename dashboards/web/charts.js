// SVG charts: a metric over time with its expected band and anomalies, and freshness (the gaps
// between updates, the expected gap, late periods and the open gap until now).

import { h, s } from "./dom.js";
import { duration, formatClock, formatDateTime, formatDay, formatNumber, parseTime } from "./format.js";

const MARGIN = { top: 14, right: 16, bottom: 28, left: 56 };
const HOUR = 3_600_000;

function widthOf(container, fallback = 720) {
  const measured = container?.clientWidth;
  return Math.max(320, measured && measured > 0 ? measured : fallback);
}

/** Round, readable tick values covering [min, max]. */
function niceTicks(min, max, count = 5) {
  if (!(max > min)) {
    const pad = Math.abs(min) * 0.1 || 1;
    return niceTicks(min - pad, max + pad, count);
  }
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((candidate) => candidate >= raw) || raw;
  const ticks = [];
  let value = Math.floor(min / step) * step;
  do {
    ticks.push(Number(value.toPrecision(12)));
    value += step;
  } while (ticks[ticks.length - 1] < max);
  return ticks;
}

function timeTicks(min, max, count = 6) {
  const span = max - min;
  const steps = [HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, 24 * HOUR, 2 * 24 * HOUR, 7 * 24 * HOUR, 14 * 24 * HOUR, 30 * 24 * HOUR];
  const step = steps.find((candidate) => span / candidate <= count) || steps[steps.length - 1];
  const ticks = [];
  for (let t = Math.ceil(min / step) * step; t <= max; t += step) ticks.push(t);
  return { ticks, daily: step >= 24 * HOUR };
}

function scale(domainMin, domainMax, rangeMin, rangeMax) {
  const span = domainMax - domainMin || 1;
  return (value) => rangeMin + ((value - domainMin) / span) * (rangeMax - rangeMin);
}

function axes({ x, y, xTicks, yTicks, width, height, formatY, daily }) {
  const group = s("g", { class: "axis" });
  for (const tick of yTicks) {
    const py = y(tick);
    group.append(
      s("line", { class: "grid-line", x1: MARGIN.left, x2: width - MARGIN.right, y1: py, y2: py }),
      s("text", { x: MARGIN.left - 8, y: py + 4, "text-anchor": "end" }, formatY(tick)),
    );
  }
  group.append(s("line", { class: "axis-line", x1: MARGIN.left, x2: width - MARGIN.right, y1: height - MARGIN.bottom, y2: height - MARGIN.bottom }));
  for (const tick of xTicks) {
    const px = x(tick);
    group.append(s("text", { x: px, y: height - MARGIN.bottom + 17, "text-anchor": "middle" }, daily ? formatDay(tick) : formatClock(tick)));
  }
  return group;
}

function segments(points, accept) {
  const runs = [];
  let current = [];
  for (const point of points) {
    if (accept(point)) current.push(point);
    else if (current.length) {
      runs.push(current);
      current = [];
    }
  }
  if (current.length) runs.push(current);
  return runs;
}

/**
 * points: [{t, value, expected, lower, upper, anomaly}] (t ISO or ms). Bands may be missing for
 * points the model could not judge yet.
 */
export function bandChart(container, points, { height = 240, label = "value", formatValue = formatNumber } = {}) {
  const width = widthOf(container);
  const data = points
    .map((point) => ({ ...point, time: parseTime(point.t ?? point.timestamp) }))
    .filter((point) => point.time !== null && Number.isFinite(point.value))
    .sort((a, b) => a.time - b.time);
  const svg = s("svg", { class: "chart", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `${label} over time` });
  if (!data.length) return svg;
  const values = data.flatMap((point) => [point.value, point.lower, point.upper]).filter((value) => Number.isFinite(value));
  let low = Math.min(...values);
  let high = Math.max(...values);
  if (low > 0 && low < high * 0.35) low = 0;
  const yTicks = niceTicks(low, high, 4);
  const x = scale(data[0].time, data[data.length - 1].time, MARGIN.left + 6, width - MARGIN.right - 6);
  const y = scale(yTicks[0], yTicks[yTicks.length - 1], height - MARGIN.bottom, MARGIN.top);
  const { ticks: xTicks, daily } = timeTicks(data[0].time, data[data.length - 1].time, Math.max(3, Math.floor(width / 110)));
  svg.append(axes({ x, y, xTicks, yTicks, width, height, formatY: (value) => formatValue(value, { compactAbove: 10_000 }), daily }));

  for (const run of segments(data, (point) => Number.isFinite(point.lower) && Number.isFinite(point.upper))) {
    const upper = run.map((point) => `${x(point.time).toFixed(1)},${y(point.upper).toFixed(1)}`);
    const lower = run.map((point) => `${x(point.time).toFixed(1)},${y(point.lower).toFixed(1)}`).reverse();
    if (run.length === 1) {
      const px = x(run[0].time);
      svg.append(s("rect", { class: "band", x: px - 3, width: 6, y: y(run[0].upper), height: Math.max(1, y(run[0].lower) - y(run[0].upper)) }));
      continue;
    }
    svg.append(
      s("path", { class: "band", d: `M${upper.join("L")}L${lower.join("L")}Z` }),
      s("path", { class: "band-edge", d: `M${upper.join("L")}` }),
      s("path", { class: "band-edge", d: `M${lower.reverse().join("L")}` }),
    );
  }
  svg.append(s("path", { class: "series", d: `M${data.map((point) => `${x(point.time).toFixed(1)},${y(point.value).toFixed(1)}`).join("L")}` }));
  const dots = data.length <= 90;
  for (const point of data) {
    const expected = Number.isFinite(point.lower) ? ` (expected ${formatValue(point.lower)}–${formatValue(point.upper)})` : "";
    const title = s("title", {}, `${formatDateTime(point.time)}: ${formatValue(point.value)} ${label}${expected}`);
    if (point.anomaly) {
      svg.append(
        s("circle", { class: "anomaly-ring", cx: x(point.time), cy: y(point.value), r: 9 }),
        s("circle", { class: "anomaly", cx: x(point.time), cy: y(point.value), r: 5, "data-anomaly": "true" }, title),
      );
    } else if (dots) svg.append(s("circle", { class: "point", cx: x(point.time), cy: y(point.value), r: 2.6 }, title));
    else svg.append(s("circle", { class: "hover-target", cx: x(point.time), cy: y(point.value), r: 4 }, title));
  }
  return svg;
}

export function bandLegend({ anomalies }) {
  return h(
    "div",
    { class: "chart-legend" },
    h("span", {}, h("i", { class: "swatch series" }), "observed"),
    h("span", {}, h("i", { class: "swatch band" }), "expected range"),
    h("span", {}, h("i", { class: "swatch anomaly" }), anomalies === 1 ? "1 anomaly" : `${anomalies} anomalies`),
  );
}

/**
 * Freshness: one bar per update, as tall as the gap since the previous update; the open gap since
 * the last update runs to `now`. Gaps beyond the expected gap (or marked late) are amber.
 */
export function freshnessChart(container, freshness, { height = 220, now = Date.now() } = {}) {
  const width = widthOf(container);
  const updates = (freshness.updates || []).map(parseTime).filter((t) => t !== null).sort((a, b) => a - b);
  const svg = s("svg", { class: "chart", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "Time between updates" });
  if (updates.length < 2) return svg;
  const checkedAt = parseTime(freshness.checkedAt) ?? now;
  const expectedBy = parseTime(freshness.expectedBy);
  const upper = freshness.expectedGap?.upper ? freshness.expectedGap.upper * 1000 : null;
  const lower = freshness.expectedGap?.lower ? freshness.expectedGap.lower * 1000 : null;
  const latePeriods = (freshness.late || []).map((period) => ({ from: parseTime(period.from), to: parseTime(period.to) ?? checkedAt }));
  const gaps = updates.slice(1).map((time, i) => ({ time, start: updates[i], gap: time - updates[i] }));
  const open = { time: checkedAt, start: updates[updates.length - 1], gap: Math.max(0, checkedAt - updates[updates.length - 1]), open: true };
  const all = [...gaps, open];
  const isLate = (gap) =>
    (upper !== null && gap.gap > upper) ||
    (gap.open && expectedBy !== null && checkedAt > expectedBy) ||
    latePeriods.some((period) => period.from !== null && period.from < gap.time && period.to > gap.start && !gap.open);
  const maxGap = Math.max(...all.map((gap) => gap.gap), upper || 0);
  const unit = maxGap > 72 * HOUR ? 24 * HOUR : HOUR;
  const unitLabel = unit === HOUR ? "h" : "d";
  const yTicks = niceTicks(0, maxGap / unit, 4);
  const start = Math.min(updates[0], expectedBy ?? Infinity);
  const end = Math.max(checkedAt, expectedBy ?? 0);
  const x = scale(start, end, MARGIN.left + 8, width - MARGIN.right - 8);
  const y = scale(yTicks[0], yTicks[yTicks.length - 1], height - MARGIN.bottom, MARGIN.top);
  const { ticks: xTicks, daily } = timeTicks(start, end, Math.max(3, Math.floor(width / 110)));
  svg.append(axes({ x, y, xTicks, yTicks, width, height, formatY: (value) => `${formatNumber(value)}${unitLabel}`, daily }));
  if (upper !== null) {
    const top = y(upper / unit);
    const bottom = y((lower ?? 0) / unit);
    svg.append(
      s("rect", { class: "band", x: MARGIN.left, width: width - MARGIN.left - MARGIN.right, y: top, height: Math.max(1, bottom - top) }),
      s("line", { class: "band-edge", x1: MARGIN.left, x2: width - MARGIN.right, y1: top, y2: top }),
    );
  }
  const slot = Math.max(2, Math.min(14, ((width - MARGIN.left - MARGIN.right) / Math.max(1, all.length)) * 0.6));
  for (const gap of all) {
    const late = isLate(gap);
    const top = y(gap.gap / unit);
    const px = x(gap.time);
    svg.append(
      s(
        "rect",
        {
          class: ["gap-bar", late && "late", gap.open && "open"],
          x: px - slot / 2,
          width: slot,
          y: top,
          height: Math.max(1, height - MARGIN.bottom - top),
          rx: Math.min(3, slot / 3),
          "data-late": late ? "true" : undefined,
        },
        s("title", {}, gap.open ? `No update for ${duration(gap.gap)} (since ${formatDateTime(gap.start)})` : `Updated ${formatDateTime(gap.time)}, ${duration(gap.gap)} after the previous update`),
      ),
    );
  }
  for (const time of updates) svg.append(s("line", { class: "update-tick", x1: x(time), x2: x(time), y1: height - MARGIN.bottom + 1, y2: height - MARGIN.bottom + 5 }));
  const nowX = x(checkedAt);
  svg.append(
    s("line", { class: "now-line", x1: nowX, x2: nowX, y1: MARGIN.top, y2: height - MARGIN.bottom }),
    s("text", { class: "now-label", x: nowX - 4, y: MARGIN.top + 8, "text-anchor": "end" }, "now"),
  );
  if (expectedBy !== null) {
    const ex = x(expectedBy);
    const nearEdge = ex > width - MARGIN.right - 70;
    svg.append(
      s("line", { class: "expected-line", x1: ex, x2: ex, y1: MARGIN.top + 12, y2: height - MARGIN.bottom }),
      s("text", { class: "expected-label", x: nearEdge ? ex - 4 : ex + 4, y: MARGIN.top + 24, "text-anchor": nearEdge ? "end" : "start" }, `due ${formatClock(expectedBy)}`),
    );
  }
  return svg;
}

export function freshnessLegend() {
  return h(
    "div",
    { class: "chart-legend" },
    h("span", {}, h("i", { class: "swatch update" }), "update"),
    h("span", {}, h("i", { class: "swatch band" }), "expected gap"),
    h("span", {}, h("i", { class: "swatch late" }), "late"),
  );
}
