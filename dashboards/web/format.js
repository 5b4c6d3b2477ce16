// Formatting for people: relative times, compact numbers, durations, short names.

export function parseTime(value) {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  const time = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isNaN(time) ? null : time;
}

export function timeAgo(value, reference = Date.now()) {
  const time = parseTime(value);
  if (time === null) return "never";
  const delta = reference - time;
  const future = delta < 0;
  const text = duration(Math.abs(delta));
  if (text === "0s") return "just now";
  return future ? `in ${text}` : `${text} ago`;
}

/** 93784000 -> "1d 2h": the largest unit and the next one when it is not zero ("9h", not "9h 52s"). */
export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "–";
  const seconds = Math.round(Math.abs(ms) / 1000);
  const units = [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]];
  const first = units.findIndex(([, size]) => seconds >= size);
  if (first < 0) return "0s";
  const [unit, size] = units[first];
  const text = `${Math.floor(seconds / size)}${unit}`;
  const next = units[first + 1];
  const rest = next ? Math.floor((seconds % size) / next[1]) : 0;
  return rest ? `${text} ${rest}${next[0]}` : text;
}

const dateTime = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone: "UTC",
});
const dateOnly = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", timeZone: "UTC" });

/** Absolute time in UTC (the store's and the alerts' time zone). */
export function formatDateTime(value) {
  const time = parseTime(value);
  return time === null ? "–" : `${dateTime.format(time)} UTC`;
}

export function formatDay(value) {
  const time = parseTime(value);
  return time === null ? "–" : dateOnly.format(time);
}

export function formatClock(value) {
  const time = parseTime(value);
  return time === null ? "–" : timeOnly.format(time);
}

const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });
const whole = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const fraction = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 3 });

/** 1204 -> "1,204"; 2400000 -> "2.4M"; 0.01234 -> "0.0123". */
export function formatNumber(value, { compactAbove = 100_000 } = {}) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (Math.abs(value) >= compactAbove) return compact.format(value);
  return Math.abs(value) >= 100 || Number.isInteger(value) ? whole.format(value) : fraction.format(value);
}

export function plural(count, word, many = `${word}s`) {
  return `${formatNumber(count)} ${count === 1 ? word : many}`;
}

/** "analytics.public.orders" -> "orders"; paths keep their last segment. */
export function shortName(name) {
  const parts = String(name).split(/[./]/).filter(Boolean);
  return parts.length ? parts[parts.length - 1] : String(name);
}

/** The qualifier shown under a short name: "analytics.public" for "analytics.public.orders". */
export function qualifier(name) {
  const text = String(name);
  const cut = Math.max(text.lastIndexOf("."), text.lastIndexOf("/"));
  return cut > 0 ? text.slice(0, cut) : "";
}

export function truncate(text, max) {
  const value = String(text ?? "");
  return value.length <= max ? value : `${value.slice(0, Math.max(1, max - 1))}…`;
}
