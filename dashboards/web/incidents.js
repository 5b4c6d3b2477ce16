// Incidents: the list, and one incident: what happened, its impact, the suspected cause, a timeline.

import { api, ignoreAbort, nodeId, optional } from "./api.js";
import { bandChart, bandLegend } from "./charts.js";
import { h, icon } from "./dom.js";
import { formatDateTime, formatNumber, plural, qualifier, shortName, timeAgo } from "./format.js";
import { paths } from "./router.js";
import { badge, card, empty, errorBox, keyValue, loading, pageHeader, setTitle, severityBadge, table, time } from "./ui.js";

const pick = (object, ...keys) => {
  for (const key of keys) if (object?.[key] !== undefined && object?.[key] !== null) return object[key];
  return undefined;
};

function ref(value) {
  if (!value) return null;
  const namespace = pick(value, "namespace");
  const name = pick(value, "name");
  return { namespace, name, nodeId: pick(value, "node_id", "nodeId") || nodeId.dataset(namespace, name), check: pick(value, "check"), column: pick(value, "column") };
}

/** One incident in the UI's terms, from the API's snake_case (or camelCase) JSON. */
export function normalizeIncident(raw) {
  const root = ref(raw.root) || { namespace: "", name: "", nodeId: "" };
  return {
    id: raw.id,
    state: String(raw.state || "open").toLowerCase(),
    severity: String(raw.severity || "warning").toLowerCase(),
    title: raw.title || `Incident ${raw.id}`,
    root,
    origin: ref(raw.origin) || root,
    cause: raw.cause || null,
    suspects: raw.suspects || [],
    impact: raw.impact || {},
    impacted: pick(raw, "impacted", "impacted_nodes", "impactedNodes") || [],
    checks: raw.checks || [],
    rootFinding: pick(raw, "root_finding", "rootFinding") || null,
    timeline: raw.timeline || raw.events || [],
    firstSeenAt: pick(raw, "first_seen_at", "firstSeenAt"),
    openedAt: pick(raw, "opened_at", "openedAt"),
    lastActivityAt: pick(raw, "last_activity_at", "lastActivityAt"),
    acknowledgedAt: pick(raw, "acknowledged_at", "acknowledgedAt"),
    acknowledgedBy: pick(raw, "acknowledged_by", "acknowledgedBy"),
    resolvedAt: pick(raw, "resolved_at", "resolvedAt"),
    resolvedBy: pick(raw, "resolved_by", "resolvedBy"),
    resolution: raw.resolution,
    mutedUntil: pick(raw, "muted_until", "mutedUntil"),
  };
}

const STATE_TONES = { open: "red", acknowledged: "amber", muted: "gray", resolved: "green" };

function stateBadge(state) {
  return badge(state, STATE_TONES[state] || "gray");
}

const FILTERS = [
  ["Open", ["open", "acknowledged"]],
  ["Resolved", ["resolved"]],
  ["All", []],
];

export async function renderList(main, { query, signal }) {
  setTitle("Incidents");
  const chosen = query.get("state") || "Open";
  const states = (FILTERS.find(([label]) => label === chosen) || FILTERS[0])[1];
  main.append(pageHeader({ kicker: "Incidents", title: "Incidents", subtitle: "Problems found by checks, grouped by their most upstream cause." }));
  main.append(
    h("nav", { class: "filters", "aria-label": "Incident state" }, FILTERS.map(([label]) => h("a", { href: `/incidents?state=${label}`, "aria-current": label === chosen ? "page" : undefined }, label))),
  );
  const body = main.appendChild(loading());
  try {
    const response = await api.incidents({ state: states, limit: 100 }, { signal });
    const incidents = (response.incidents || []).map(normalizeIncident);
    body.replaceWith(
      incidents.length
        ? card(
            null,
            table(
              [
                { label: "", cell: (incident) => h("span", { class: ["severity-bar", `tone-${incident.root.check === "freshness" || !["critical", "error"].includes(incident.severity) ? "amber" : "red"}`] }) },
                { label: "Incident", cell: (incident) => h("div", {}, h("a", { href: paths.incident(incident.id), class: "strong-link" }, incident.title), h("div", { class: "muted small" }, `#${incident.id}`)) },
                { label: "Dataset", cell: (incident) => h("a", { href: paths.dataset(incident.root.namespace, incident.root.name) }, shortName(incident.root.name)) },
                { label: "Check", cell: (incident) => incident.root.check || "–" },
                { label: "Severity", cell: (incident) => severityBadge(incident.severity) },
                { label: "State", cell: (incident) => stateBadge(incident.state) },
                { label: "Downstream", className: "num", cell: (incident) => impactCount(incident) },
                { label: "Opened", cell: (incident) => time(incident.openedAt) },
              ],
              incidents,
              { caption: "Incidents" },
            ),
          )
        : empty(chosen === "Open" ? "No open incidents. All checks pass." : "No incidents here."),
    );
  } catch (error) {
    if (error.name !== "AbortError") body.replaceWith(errorBox(error, "The incident list"));
  }
}

function impactCount(incident) {
  const impact = incident.impact || {};
  const count = pick(impact, "datasets", "dataset_count", "downstream_datasets", "count");
  return typeof count === "number" ? formatNumber(count) : "–";
}

export async function renderOne(main, { params, signal }) {
  setTitle(`Incident ${params.id}`);
  const body = main.appendChild(loading());
  let incident;
  try {
    incident = normalizeIncident(await api.incident(params.id, { signal }));
  } catch (error) {
    if (error.name !== "AbortError") body.replaceWith(errorBox(error, `Incident ${params.id}`));
    return;
  }
  setTitle(incident.title);
  const root = incident.root;
  const finding = incident.rootFinding;
  body.replaceWith(
    h(
      "div",
      {},
      pageHeader({
        kicker: h("span", {}, icon("incident"), ` Incident #${incident.id}`),
        title: incident.title,
        subtitle: `Opened ${timeAgo(incident.openedAt)} · ${formatDateTime(incident.openedAt)}`,
        badges: [severityBadge(incident.severity), stateBadge(incident.state), root.check ? badge(`${root.check} check`, "blue") : null].filter(Boolean),
        actions: [
          h("a", { class: "button", href: paths.dataset(root.namespace, root.name) }, "Dataset page"),
          h("a", { class: "button primary", href: paths.lineage(incident.origin.nodeId, { up: 1, down: 3 }) }, icon("lineage"), "Lineage"),
        ],
      }),
      h(
        "div",
        { class: "grid grid-3" },
        h("div", { class: "stack" }, whatHappened(incident, finding), chartCard(incident, finding, signal), causeCard(incident)),
        h("div", { class: "stack" }, impactCard(incident), timelineCard(incident)),
      ),
      incident.checks.length ? h("div", { class: "spaced-top" }, checksCard(incident)) : null,
    ),
  );
}

function whatHappened(incident, finding) {
  const root = incident.root;
  const facts = [
    ["Dataset", h("a", { href: paths.dataset(root.namespace, root.name) }, root.name)],
    ["Namespace", h("span", { class: "mono small" }, root.namespace)],
    root.column ? ["Column", h("span", { class: "mono" }, root.column)] : null,
    finding && Number.isFinite(finding.observed) ? ["Observed", formatNumber(finding.observed)] : null,
    finding && Number.isFinite(finding.lower) ? ["Expected", `${formatNumber(finding.lower)} – ${formatNumber(finding.upper)}`] : null,
    finding?.detected_at ? ["Detected", formatDateTime(finding.detected_at)] : null,
    finding?.job ? ["Job", h("a", { href: paths.job(finding.job.namespace, finding.job.name) }, finding.job.name)] : null,
    incident.firstSeenAt ? ["First seen", formatDateTime(incident.firstSeenAt)] : null,
  ].filter(Boolean);
  return card(
    "What happened",
    [h("p", { class: "incident-summary" }, finding?.explanation || incident.title), keyValue(facts)],
    { id: "what" },
  );
}

function chartCard(incident, finding, signal) {
  const root = incident.root;
  const metric = finding?.details?.metric || (root.check === "volume" ? "row_count" : null);
  if (!metric) return null;
  const holder = h("div", {}, loading());
  const section = card(`${metric.replaceAll("_", " ")} of ${shortName(root.name)}`, holder, { id: "incident-chart" });
  optional(api.series(root.namespace, root.name, metric, root.column || "", { signal })).then((series) => {
    const points = series?.points || [];
    if (!points.length) {
      holder.replaceChildren(empty("No history for this metric."));
      return;
    }
    holder.replaceChildren(
      bandChart(holder, points, { label: metric.replaceAll("_", " ") }),
      bandLegend({ anomalies: points.filter((point) => point.anomaly).length }),
    );
  }).catch(ignoreAbort);
  return section;
}

function causeCard(incident) {
  const cause = incident.cause;
  const suspects = incident.suspects || [];
  const items = [];
  if (cause) items.push(causeItem(cause, true));
  for (const suspect of suspects) if (!cause || JSON.stringify(suspect) !== JSON.stringify(cause)) items.push(causeItem(suspect, false));
  return card(
    "Suspected cause",
    items.length ? items : empty("No upstream cause found.", "The problem starts at this dataset: no failed runs, schema changes or upstream incidents explain it."),
    { id: "cause" },
  );
}

const CAUSE_KINDS = {
  schema_change: "Schema change",
  failed_run: "Failed run",
  upstream_incident: "Upstream incident",
  anomaly: "Upstream anomaly",
  late_run: "Late run",
};

function causeItem(cause, primary) {
  const dataset = cause.namespace && cause.name ? { namespace: cause.namespace, name: cause.name } : null;
  const job = cause.job?.name ? cause.job : cause.job_name ? { namespace: cause.job_namespace, name: cause.job_name } : null;
  const kind = CAUSE_KINDS[cause.kind] || String(cause.kind || "Upstream change").replaceAll("_", " ");
  const where = dataset ? shortName(dataset.name) : job?.name;
  const distance = typeof cause.hops === "number" ? (cause.hops === 0 ? "this dataset" : `${cause.hops} hop${cause.hops === 1 ? "" : "s"} upstream`) : null;
  const text = cause.text || cause.explanation || cause.reason || cause.detail;
  return h(
    "div",
    { class: ["cause", !primary && "secondary"] },
    h("div", { class: "cause-title" }, icon(primary ? "incident" : "dot"), where ? `${kind} on ${where}` : kind, primary ? badge("most likely", "amber") : null),
    text ? h("div", { class: "cause-detail" }, text) : null,
    h(
      "div",
      { class: "cause-detail muted small" },
      [
        dataset ? h("a", { href: paths.dataset(dataset.namespace, dataset.name) }, dataset.name) : null,
        job ? h("a", { href: paths.job(job.namespace, job.name) }, job.name) : null,
        distance,
        cause.at || cause.observed_at ? formatDateTime(cause.at || cause.observed_at) : null,
      ]
        .filter(Boolean)
        .flatMap((part, i) => (i ? [" · ", part] : [part])),
    ),
  );
}

function parseNode(node) {
  const id = String(node.node_id || node.nodeId || "");
  if (node.namespace && node.name) return { namespace: node.namespace, name: node.name, column: node.column || node.column_name };
  // "dataset:<ns>:<name>" where the namespace may hold "://" and ":port"
  const kind = id.slice(0, id.indexOf(":"));
  const rest = id.slice(kind.length + 1);
  const match = rest.match(/^([a-z][a-z0-9+.-]*:\/\/[^:/]+(?::\d+)?(?:\/[^:]*)?|[^:]+):(.*)$/i);
  if (!match) return { namespace: "", name: rest };
  if (kind === "datasetField") {
    const cut = match[2].lastIndexOf(":");
    return { namespace: match[1], name: match[2].slice(0, cut), column: match[2].slice(cut + 1) };
  }
  return { namespace: match[1], name: match[2] };
}

/** Impacted datasets nearest first, each with its affected columns; jobs on their own line. */
function groupImpact(impacted) {
  const datasets = new Map();
  const jobs = [];
  const datasetOf = (node) => {
    const key = `${node.namespace}\u0000${node.name}`;
    if (!datasets.has(key)) datasets.set(key, { namespace: node.namespace, name: node.name, hops: node.hops, direct: node.direct, owners: node.owners || [], columns: [] });
    return datasets.get(key);
  };
  for (const node of impacted) {
    const kind = node.kind || "dataset";
    if (kind === "job") jobs.push(node);
    else if (kind === "column") datasetOf(node).columns.push(node);
    else Object.assign(datasetOf(node), { hops: node.hops, direct: node.direct, owners: node.owners || [] });
  }
  const sorted = [...datasets.values()].sort((a, b) => (a.hops ?? 0) - (b.hops ?? 0) || a.name.localeCompare(b.name));
  return { datasets: sorted, jobs };
}

function impactCard(incident) {
  const impact = incident.impact || {};
  const impacted = incident.impacted.map((node) => ({ ...node, ...parseNode(node) }));
  const grouped = groupImpact(impacted);
  const owners = pick(impact, "owners") || [...new Set(impacted.flatMap((node) => node.owners || []))];
  const count = (key, list) => (typeof impact[key] === "number" ? impact[key] : list.length);
  const columns = grouped.datasets.flatMap((dataset) => dataset.columns);
  const counts = [
    plural(count("datasets", grouped.datasets), "dataset"),
    columns.length || typeof impact.columns === "number" ? plural(count("columns", columns), "column") : null,
    grouped.jobs.length || typeof impact.jobs === "number" ? plural(count("jobs", grouped.jobs), "job") : null,
  ].filter(Boolean);
  const list = grouped.datasets.length
    ? h(
        "ul",
        { class: "item-list impact-list" },
        grouped.datasets.slice(0, 40).map((dataset) =>
          h(
            "li",
            {},
            h(
              "a",
              { class: "item", href: paths.dataset(dataset.namespace, dataset.name) },
              h("span", { class: "impact-distance", title: `${dataset.hops} hop${dataset.hops === 1 ? "" : "s"} downstream` }, dataset.hops ?? "–"),
              h(
                "span",
                { class: "item-main" },
                h("span", { class: "item-title" }, shortName(dataset.name)),
                h("span", { class: "item-detail" }, [qualifier(dataset.name), dataset.owners.join(", ")].filter(Boolean).join(" · ")),
              ),
              dataset.direct === false ? badge("indirect", "gray", "Affected through a filter, join or grouping") : badge("direct", "blue", "Values derive from the broken data"),
            ),
            dataset.columns.length
              ? h(
                  "div",
                  { class: "impact-columns" },
                  dataset.columns.map((column) => h("span", { class: ["column-chip", column.direct === false && "indirect"], title: column.direct === false ? "indirect: through a filter, join or grouping" : "direct" }, column.column)),
                )
              : null,
          ),
        ),
      )
    : null;
  const jobs = grouped.jobs.length
    ? h("p", { class: "impact-jobs muted small" }, icon("job"), " Jobs to rerun: ", grouped.jobs.map((job, i) => [i ? ", " : "", h("a", { href: paths.job(job.namespace, job.name) }, job.name)]))
    : null;
  return card(
    "Impact",
    [
      h("p", { class: "impact-counts" }, h("strong", {}, counts.join(" · ")), " downstream"),
      owners.length ? h("p", { class: "muted small" }, "Owners to tell: ", owners.join(", ")) : null,
      list || empty("Nothing downstream is affected."),
      jobs,
    ],
    { id: "impact" },
  );
}

const EVENT_TONES = { opened: "red", joined: "amber", rerooted: "amber", acknowledged: "blue", muted: "gray", resolved: "green", reopened: "red", finding: "amber" };

function timelineCard(incident) {
  const events = [...incident.timeline].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  return card(
    "Timeline",
    events.length
      ? h(
          "ol",
          { class: "timeline" },
          events.map((event) =>
            h(
              "li",
              { class: `tone-${EVENT_TONES[event.kind] || "gray"}` },
              h("div", { class: "timeline-time" }, h("time", { datetime: event.at, title: formatDateTime(event.at) }, formatDateTime(event.at))),
              h("div", { class: "timeline-text" }, describeEvent(event)),
              eventDetail(event) ? h("div", { class: "timeline-detail" }, eventDetail(event)) : null,
            ),
          ),
        )
      : empty("No events recorded."),
    { id: "timeline" },
  );
}

function describeEvent(event) {
  const who = event.actor ? ` by ${event.actor}` : "";
  const details = event.details || {};
  const text = {
    opened: "Opened",
    joined: details.hops ? `A check ${details.hops} hop${details.hops === 1 ? "" : "s"} downstream joined` : "A check joined",
    rerooted: "Root moved upstream",
    acknowledged: `Acknowledged${who}`,
    muted: `Muted${who}${details.until ? ` until ${formatDateTime(details.until)}` : ""}`,
    resolved: `Resolved${who}${details.resolution ? ` (${String(details.resolution).replaceAll("_", " ")})` : ""}`,
    reopened: "Reopened",
    cleared: "A check passed again",
    notified: `Notified ${details.channel || details.destination || "owners"}`,
  }[event.kind];
  return text || `${String(event.kind).replaceAll("_", " ")}${who}`;
}

function eventDetail(event) {
  const details = event.details || {};
  return details.check || details.explanation || details.text || (details.name ? shortName(details.name) : null);
}

function checksCard(incident) {
  return card(
    "Checks in this incident",
    table(
      [
        { label: "Hops", className: "num", cell: (check) => h("span", { class: "impact-distance" }, check.hops ?? 0) },
        { label: "Dataset", cell: (check) => h("a", { href: paths.dataset(check.namespace, check.name) }, shortName(check.name)) },
        { label: "Check", cell: (check) => [check.check, check.column ? h("span", { class: "mono small" }, ` · ${check.column}`) : null] },
        { label: "Severity", cell: (check) => severityBadge(check.severity) },
        { label: "Findings", className: "num", cell: (check) => formatNumber(check.findings ?? check.finding_count ?? 1) },
        { label: "Last seen", cell: (check) => time(check.last_seen_at || check.lastSeenAt) },
        { label: "Status", cell: (check) => (check.cleared_at || check.clearedAt ? badge("passing again", "green") : badge("failing", "red")) },
        { label: "Explanation", cell: (check) => h("span", { class: "small" }, check.explanation || "") },
      ],
      incident.checks,
      { caption: "Checks" },
    ),
    { id: "checks" },
  );
}
