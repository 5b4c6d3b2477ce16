// Shared page pieces: headers, cards, badges, tables, loading and error states.

import { h, icon } from "./dom.js";
import { formatDateTime, timeAgo } from "./format.js";

export const HEALTH = {
  incident: { label: "Open incident", tone: "red" },
  late: { label: "Stale", tone: "amber" },
  healthy: { label: "Healthy", tone: "green" },
  unknown: { label: "No updates seen", tone: "gray" },
};

/**
 * The one health word for a dataset, from its status entry (see /api/v1/ui/status): a failing
 * check other than freshness is an incident (red); late data alone is stale (amber).
 */
export function healthOf(status, lastUpdatedAt) {
  if ((status?.failing || []).some((kind) => kind !== "freshness")) return "incident";
  if (status?.freshness === "late") return "late";
  if (status?.openIncidents?.length) return "incident";
  if (status?.freshness === "fresh" || lastUpdatedAt || status?.lastUpdatedAt) return "healthy";
  return "unknown";
}

export function healthBadge(health, text) {
  const meta = HEALTH[health] || HEALTH.unknown;
  return h("span", { class: ["badge", `tone-${meta.tone}`] }, h("span", { class: "dot", "aria-hidden": "true" }), text || meta.label);
}

export function badge(text, tone = "gray", title) {
  return h("span", { class: ["badge", `tone-${tone}`], title }, text);
}

const RUN_TONES = { COMPLETED: "green", COMPLETE: "green", FAILED: "red", FAIL: "red", ABORTED: "amber", RUNNING: "blue", NEW: "gray" };

export function runStateBadge(state) {
  return badge(String(state || "unknown").toLowerCase(), RUN_TONES[String(state).toUpperCase()] || "gray");
}

const SEVERITY_TONES = { critical: "red", error: "red", high: "red", warning: "amber", medium: "amber", info: "blue", low: "gray" };

export function severityBadge(severity) {
  const value = String(severity || "unknown").toLowerCase();
  return badge(value, SEVERITY_TONES[value] || "gray");
}

export function pageHeader({ kicker, title, subtitle, actions = [], badges = [] }) {
  return h(
    "header",
    { class: "page-header" },
    h(
      "div",
      { class: "page-title" },
      kicker ? h("div", { class: "kicker" }, kicker) : null,
      h("h1", { tabindex: "-1" }, title),
      subtitle ? h("div", { class: "subtitle" }, subtitle) : null,
      badges.length ? h("div", { class: "badges" }, badges) : null,
    ),
    actions.length ? h("div", { class: "page-actions" }, actions) : null,
  );
}

export function card(title, body, { id, actions, className } = {}) {
  return h(
    "section",
    { class: ["card", className], id, "aria-labelledby": id ? `${id}-title` : undefined },
    title ? h("div", { class: "card-head" }, h("h2", { id: id ? `${id}-title` : undefined }, title), actions || null) : null,
    h("div", { class: "card-body" }, body),
  );
}

export function empty(text, hint) {
  return h("div", { class: "empty" }, h("p", {}, text), hint ? h("p", { class: "muted" }, hint) : null);
}

export function loading(text = "Loading…") {
  return h("div", { class: "loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), text);
}

export function errorBox(error, what = "This page") {
  const status = error?.status;
  const message =
    status === 404
      ? `${what} was not found.`
      : status === 0
        ? "The Observer server cannot be reached."
        : `${what} could not be loaded: ${error?.message || error}`;
  return h("div", { class: "error-box", role: "alert" }, icon("incident"), h("div", {}, h("strong", {}, message), error?.url ? h("div", { class: "muted mono" }, error.url) : null));
}

export function time(value) {
  if (!value) return h("span", { class: "muted" }, "never");
  return h("time", { datetime: value, title: formatDateTime(value) }, timeAgo(value));
}

/** A table from column specs {label, cell(row), className}. */
export function table(columns, rows, { caption, rowClass } = {}) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      caption ? h("caption", { class: "visually-hidden" }, caption) : null,
      h("thead", {}, h("tr", {}, columns.map((column) => h("th", { scope: "col", class: column.className }, column.label)))),
      h(
        "tbody",
        {},
        rows.map((row) => h("tr", { class: rowClass ? rowClass(row) : undefined }, columns.map((column) => h("td", { class: column.className }, column.cell(row))))),
      ),
    ),
  );
}

export function keyValue(pairs) {
  return h(
    "dl",
    { class: "kv" },
    pairs.filter(([, value]) => value !== null && value !== undefined && value !== "").map(([key, value]) => [h("dt", {}, key), h("dd", {}, value)]),
  );
}

export function setTitle(text) {
  document.title = text ? `${text} · Observer` : "Observer";
}
