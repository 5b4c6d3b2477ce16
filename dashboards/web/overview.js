// The start page: how many things are watched, what is broken, what needs attention.

import { api, optional } from "./api.js";
import { h, icon } from "./dom.js";
import { formatNumber, qualifier, shortName } from "./format.js";
import { paths } from "./router.js";
import { normalizeIncident } from "./incidents.js";
import { card, empty, healthBadge, healthOf, loading, pageHeader, setTitle, severityBadge, time } from "./ui.js";

export async function render(main, { signal }) {
  setTitle("");
  main.append(pageHeader({ kicker: "Overview", title: "Data health", subtitle: "Datasets, jobs and incidents seen by this Observer." }));
  const body = main.appendChild(loading());
  const [overview, incidentList] = await Promise.all([
    optional(api.overview({ signal })),
    optional(api.incidents({ state: ["open", "acknowledged"], limit: 8 }, { signal })),
  ]);
  const incidents = (incidentList?.incidents || []).map(normalizeIncident);
  const counts = overview?.counts || {};
  const openCount = incidentList?.totalCount ?? incidentList?.total ?? counts.openIncidents ?? incidents.length;
  const stat = (value, label, tone, href) =>
    h("div", { class: ["stat", `tone-${tone}`] }, h("div", { class: "stat-value" }, href ? h("a", { href }, formatNumber(value ?? 0)) : formatNumber(value ?? 0)), h("div", { class: "stat-label" }, label));
  body.replaceWith(
    h(
      "div",
      {},
      h(
        "div",
        { class: "stats" },
        stat(counts.datasets, "datasets watched", "blue"),
        stat(counts.jobs, "jobs seen", "blue"),
        stat(openCount, openCount === 1 ? "open incident" : "open incidents", openCount ? "red" : "green", paths.incidents()),
        stat(counts.stale, "stale datasets", counts.stale ? "amber" : "green"),
      ),
      h(
        "div",
        { class: "grid grid-3" },
        card(
          "Open incidents",
          incidents.length
            ? h("ul", { class: "item-list" }, incidents.map(incidentItem))
            : empty("No open incidents.", "Checks run against every watched dataset; problems show up here."),
          { id: "open-incidents", actions: h("a", { href: paths.incidents() }, "All incidents") },
        ),
        card(
          "Needs attention",
          (overview?.attention || []).length
            ? h("ul", { class: "item-list" }, overview.attention.slice(0, 10).map(datasetItem))
            : empty("Everything is fresh."),
          { id: "attention" },
        ),
      ),
      h(
        "div",
        { class: "grid spaced-top" },
        card(
          "Recently updated",
          (overview?.recentlyUpdated || []).length
            ? h("ul", { class: "item-list two-columns" }, overview.recentlyUpdated.map(datasetItem))
            : empty("No updates seen yet.", "Send OpenLineage events to /api/v1/lineage, or run `observer collect`."),
          { id: "recent", className: "spaced" },
        ),
      ),
    ),
  );
}

function incidentItem(incident) {
  const tone = incident.root.check === "freshness" || !["critical", "error", "high"].includes(incident.severity) ? "amber" : "red";
  const downstream = incident.impact?.datasets;
  return h(
    "li",
    {},
    h(
      "a",
      { class: "item", href: paths.incident(incident.id) },
      h("span", { class: ["severity-bar", `tone-${tone}`], "aria-hidden": "true" }),
      h("span", { class: "item-main" }, h("span", { class: "item-title" }, incident.title), h("span", { class: "item-detail" }, [`#${incident.id}`, incident.root.name, incident.root.check, downstream ? `${downstream} downstream` : null].filter(Boolean).join(" · "))),
      h("span", { class: "item-side" }, severityBadge(incident.severity), h("div", {}, time(incident.openedAt))),
    ),
  );
}

function datasetItem(item) {
  return h(
    "li",
    {},
    h(
      "a",
      { class: "item", href: paths.dataset(item.namespace, item.name) },
      icon("dataset", "kind-dataset"),
      h("span", { class: "item-main" }, h("span", { class: "item-title" }, shortName(item.name)), h("span", { class: "item-detail" }, `${qualifier(item.name) || item.name} · ${item.namespace}`)),
      h("span", { class: "item-side" }, healthBadge(healthOf(item, item.lastUpdatedAt)), h("div", {}, time(item.lastUpdatedAt))),
    ),
  );
}
