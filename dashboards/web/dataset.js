// A dataset: health (freshness and volume against what is expected), schema and its history,
// recent runs of the jobs that write it, open incidents.

import { api, ignoreAbort, nodeId, optional } from "./api.js";
import { bandChart, bandLegend, freshnessChart, freshnessLegend } from "./charts.js";
import { clear, h, icon } from "./dom.js";
import { duration, formatDateTime, formatNumber, parseTime, qualifier, shortName, timeAgo } from "./format.js";
import { paths } from "./router.js";
import { badge, card, empty, errorBox, healthBadge, healthOf, keyValue, loading, pageHeader, runStateBadge, setTitle, severityBadge, table, time } from "./ui.js";

export async function render(main, { params, signal }) {
  const { namespace, name } = params;
  setTitle(shortName(name));
  const body = main.appendChild(loading());
  let health;
  try {
    health = await api.datasetHealth(namespace, name, { signal });
  } catch (error) {
    if (error.name !== "AbortError") body.replaceWith(errorBox(error, `Dataset ${name}`));
    return;
  }
  const marquez = await optional(api.dataset(namespace, name, { signal }));
  const dataset = health.dataset;
  const incidents = health.incidents || [];
  const state = healthOf({ freshness: health.freshness?.state, failing: health.failing, openIncidents: incidents }, dataset.lastUpdatedAt);
  const owners = (dataset.owners || []).map((owner) => (typeof owner === "string" ? owner : owner.name)).filter(Boolean);
  const tags = [...(dataset.tags || []), ...(marquez?.tags || [])].map((tag) => (typeof tag === "string" ? tag : tag.name || tag.key)).filter(Boolean);
  const description = dataset.description || marquez?.description;

  const page = h(
    "div",
    {},
    pageHeader({
      kicker: h("span", {}, icon("dataset"), " Dataset · ", dataset.namespace),
      title: shortName(dataset.name),
      subtitle: dataset.name,
      badges: [
        healthBadge(state),
        dataset.kind ? badge(String(dataset.kind).toLowerCase()) : null,
        ...owners.map((owner) => badge(owner, "blue", "Owner")),
        ...[...new Set(tags)].map((tag) => badge(`#${tag}`)),
        h("span", { class: "muted small" }, "updated ", time(dataset.lastUpdatedAt)),
      ].filter(Boolean),
      actions: [h("a", { class: "button primary", href: paths.lineage(nodeId.dataset(dataset.namespace, dataset.name)) }, icon("lineage"), "Lineage")],
    }),
    incidents.length ? incidentBanner(incidents) : null,
    description ? h("p", { class: "dataset-description" }, description) : null,
    h("div", { class: "grid grid-2" }, freshnessCard(health.freshness, dataset), volumeCard(health, signal)),
    h(
      "div",
      { class: "grid grid-3 spaced-top" },
      schemaCard(health.schema, marquez, dataset),
      h("div", { class: "stack" }, runsCard(dataset, signal), assertionsCard(health.assertions || []), aboutCard(dataset, health.aliases || [])),
    ),
  );
  body.replaceWith(page);
}

function incidentBanner(incidents) {
  return h(
    "div",
    { class: "incident-banner", role: "note" },
    icon("incident"),
    h(
      "div",
      {},
      h("strong", {}, incidents.length === 1 ? "1 open incident involves this dataset" : `${incidents.length} open incidents involve this dataset`),
      h("ul", {}, incidents.map((incident) => h("li", {}, h("a", { href: paths.incident(incident.id) }, incident.title), " ", severityBadge(incident.severity)))),
    ),
  );
}

function freshnessCard(freshness, dataset) {
  const holder = h("div", { class: "chart-holder" });
  const late = freshness?.state === "late";
  const last = dataset.lastUpdatedAt || freshness?.lastUpdatedAt;
  const headline = h(
    "div",
    { class: "chart-headline" },
    h("span", { class: ["chart-value", late && "text-amber"] }, last ? timeAgo(last, parseTime(freshness?.checkedAt) ?? Date.now()) : "never updated"),
    freshness?.expectedBy ? h("span", { class: late ? "text-amber" : "muted" }, `${late ? "was due" : "next update due"} ${formatDateTime(freshness.expectedBy)}`) : null,
  );
  const rhythm = h(
    "p",
    { class: "muted small" },
    freshness?.rhythm ? `Usually updated ${freshness.rhythm}. ` : "",
    "Bars: time between updates; the last one runs until now.",
  );
  const section = card("Freshness", [headline, rhythm, holder], {
    id: "freshness",
    actions: healthBadge(late ? "late" : last ? "healthy" : "unknown", late ? "Stale" : last ? "On time" : "No updates"),
  });
  requestAnimationFrame(() => {
    if ((freshness?.updates || []).length >= 2) holder.replaceChildren(freshnessChart(holder, freshness), freshnessLegend());
    else holder.replaceChildren(empty("Not enough updates yet to learn a rhythm.", "Freshness is judged after a few observed writes."));
  });
  return section;
}

function volumeCard(health, signal) {
  const holder = h("div", { class: "chart-holder" });
  const metrics = health.metrics || [];
  const headline = h("div", { class: "chart-headline" });
  const draw = (series) => {
    const points = series?.points || [];
    clear(headline);
    if (!points.length) {
      holder.replaceChildren(empty("No volume measured yet.", "Row counts come from OpenLineage output statistics and warehouse collectors."));
      return;
    }
    const last = points[points.length - 1];
    headline.append(
      h("span", { class: "chart-value" }, formatNumber(last.value)),
      h("span", { class: "muted" }, series.metric.replaceAll("_", " ")),
      Number.isFinite(last.lower) ? h("span", { class: last.anomaly ? "text-red" : "muted" }, `expected ${formatNumber(last.lower)} – ${formatNumber(last.upper)}`) : null,
    );
    const anomalies = points.filter((point) => point.anomaly).length;
    holder.replaceChildren(bandChart(holder, points, { label: series.metric.replaceAll("_", " ") }), bandLegend({ anomalies }));
  };
  let tools = null;
  if (metrics.length > 1) {
    const select = h(
      "select",
      {
        "aria-label": "Metric",
        onchange: async () => {
          const [metric, column] = JSON.parse(select.value);
          holder.replaceChildren(loading());
          try {
            draw(await optional(api.series(health.dataset.namespace, health.dataset.name, metric, column, { signal })));
          } catch (error) {
            ignoreAbort(error);
          }
        },
      },
      metrics.map((item) =>
        h("option", { value: JSON.stringify([item.metric, item.column || ""]), selected: item.metric === health.volume?.metric && (item.column || "") === (health.volume?.column || "") }, item.column ? `${item.column} · ${item.metric}` : item.metric),
      ),
    );
    tools = h("div", { class: "chart-tools" }, select);
  }
  const section = card("Volume", [headline, holder], { id: "volume", actions: tools });
  requestAnimationFrame(() => draw(health.volume));
  return section;
}

function schemaCard(schema, marquez, dataset) {
  const versions = schema?.versions || [];
  const current = schema?.current?.length ? schema.current : marquez?.fields || [];
  const fieldsTable = current.length
    ? table(
        [
          { label: "Column", cell: (field) => h("span", { class: "mono" }, field.name) },
          { label: "Type", cell: (field) => h("span", { class: "field-type" }, field.type ? String(field.type).toLowerCase() : "–") },
          current.some((field) => field.description) ? { label: "Description", cell: (field) => h("span", { class: "small" }, field.description || "") } : null,
          {
            label: "",
            cell: (field) =>
              h("a", { class: "small", href: paths.lineage(nodeId.dataset(dataset.namespace, dataset.name), { field: nodeId.field(dataset.namespace, dataset.name, field.name) }), "aria-label": `Lineage of column ${field.name}` }, "lineage"),
          },
        ].filter(Boolean),
        current,
        { caption: "Current columns" },
      )
    : empty("No schema seen yet.");
  const history = versions.length > 1
    ? h(
        "div",
        { class: "schema-history" },
        h("h3", {}, "History ", h("span", { class: "count" }, versions.length)),
        versions.map((version, i) =>
          h(
            "div",
            { class: "schema-change" },
            h("div", { class: "schema-when" }, h("strong", {}, timeAgo(version.observedAt)), formatDateTime(version.observedAt), h("div", {}, `via ${version.source}`)),
            h(
              "div",
              { class: "changes" },
              i === versions.length - 1
                ? h("span", { class: "muted" }, `First seen with ${version.fields.length} columns`)
                : [
                    ...(version.added || []).map((field) => h("span", { class: "change added", title: "added" }, `+ ${field}`)),
                    ...(version.removed || []).map((field) => h("span", { class: "change removed", title: "removed" }, `− ${field}`)),
                    ...(version.changed || []).map((change) => h("span", { class: "change changed", title: "type changed" }, `${change.name}: ${String(change.from ?? "?").toLowerCase()} → ${String(change.to ?? "?").toLowerCase()}`)),
                  ],
            ),
          ),
        ),
      )
    : null;
  return card("Schema", [h("div", { class: "muted small schema-meta" }, current.length ? `${current.length} columns` : "", versions.length ? ` · ${versions.length} version${versions.length === 1 ? "" : "s"}` : ""), fieldsTable, history], { id: "schema" });
}

function runsCard(dataset, signal) {
  const holder = h("div", {}, loading());
  const section = card("Recent runs", holder, { id: "runs" });
  (async () => {
    const id = nodeId.dataset(dataset.namespace, dataset.name);
    const lineage = await optional(api.lineage(id, { depth: 1, direction: "upstream" }, { signal }));
    const writers = (lineage?.graph || []).filter((node) => node.type === "JOB" && (node.outEdges || []).some((edge) => edge.destination === id));
    const runs = (
      await Promise.all(
        writers.slice(0, 6).map(async (job) => {
          const response = await optional(api.jobRuns(job.data.namespace, job.data.name, { limit: 8 }, { signal }));
          return (response?.runs || []).map((run) => ({ ...run, job: job.data }));
        }),
      )
    ).flat();
    runs.sort((a, b) => (parseTime(b.startedAt || b.createdAt) ?? 0) - (parseTime(a.startedAt || a.createdAt) ?? 0));
    if (!runs.length) {
      holder.replaceChildren(empty(writers.length ? "No runs recorded." : "No job writes this dataset yet."));
      return;
    }
    holder.replaceChildren(
      table(
        [
          { label: "State", cell: (run) => runStateBadge(run.state) },
          { label: "Job", cell: (run) => h("a", { href: paths.job(run.job.namespace, run.job.name) }, shortName(run.job.name)) },
          { label: "Started", cell: (run) => time(run.startedAt || run.createdAt) },
          { label: "Took", className: "num", cell: (run) => (run.durationMs != null ? duration(run.durationMs) : "–") },
        ],
        runs.slice(0, 10),
        { caption: "Recent runs" },
      ),
    );
  })().catch(ignoreAbort);
  return section;
}

function assertionsCard(assertions) {
  if (!assertions.length) return null;
  return card(
    "Tests",
    table(
      [
        { label: "", cell: (item) => badge(item.success ? "pass" : "fail", item.success ? "green" : "red") },
        { label: "Test", cell: (item) => h("span", {}, item.name, item.column ? h("span", { class: "mono small muted" }, ` · ${item.column}`) : null) },
        { label: "When", cell: (item) => time(item.observedAt) },
      ],
      assertions,
      { caption: "Data tests" },
    ),
    { id: "tests" },
  );
}

function aboutCard(dataset, aliases) {
  return card(
    "About",
    keyValue([
      ["Name", h("span", { class: "mono small" }, dataset.name)],
      ["Namespace", h("span", { class: "mono small" }, dataset.namespace)],
      ["Schema", qualifier(dataset.name) || null],
      ["First seen", dataset.createdAt ? formatDateTime(dataset.createdAt) : null],
      ["Last write", dataset.lastUpdatedAt ? formatDateTime(dataset.lastUpdatedAt) : "never"],
      ["Lifecycle", dataset.lifecycleState],
      aliases.length ? ["Also known as", h("ul", { class: "plain-list" }, aliases.map((alias) => h("li", { class: "mono small" }, `${alias.namespace} ${alias.name}`)))] : [null, null],
    ]),
    { id: "about" },
  );
}
