// A job: what it reads and writes, its recent runs, its SQL.

import { api, nodeId, optional } from "./api.js";
import { h, icon } from "./dom.js";
import { duration, formatDateTime, qualifier, shortName } from "./format.js";
import { paths } from "./router.js";
import { badge, card, empty, errorBox, keyValue, loading, pageHeader, runStateBadge, setTitle, table, time } from "./ui.js";

export async function render(main, { params, signal }) {
  const { namespace, name } = params;
  setTitle(name);
  const body = main.appendChild(loading());
  let job;
  try {
    job = await api.job(namespace, name, { signal });
  } catch (error) {
    if (error.name !== "AbortError") body.replaceWith(errorBox(error, `Job ${name}`));
    return;
  }
  const runs = await optional(api.jobRuns(namespace, name, { limit: 25 }, { signal }), { runs: [] });
  const latest = job.latestRun || runs.runs?.[0];
  const sql = job.facets?.sql?.query;
  const datasetList = (items) =>
    items?.length
      ? h(
          "ul",
          { class: "item-list" },
          items.map((item) =>
            h(
              "li",
              {},
              h(
                "a",
                { class: "item", href: paths.dataset(item.namespace, item.name) },
                icon("dataset", "kind-dataset"),
                h("span", { class: "item-main" }, h("span", { class: "item-title" }, shortName(item.name)), h("span", { class: "item-detail" }, `${qualifier(item.name)} · ${item.namespace}`)),
              ),
            ),
          ),
        )
      : empty("None recorded.");
  body.replaceWith(
    h(
      "div",
      {},
      pageHeader({
        kicker: h("span", {}, icon("job"), " Job · ", job.namespace),
        title: shortName(job.name),
        subtitle: job.name,
        badges: [latest ? runStateBadge(latest.state) : badge("no runs"), job.type ? badge(String(job.type).toLowerCase()) : null].filter(Boolean),
        actions: [h("a", { class: "button primary", href: paths.lineage(nodeId.job(job.namespace, job.name)) }, icon("lineage"), "Lineage")],
      }),
      job.description ? h("p", { class: "dataset-description" }, job.description) : null,
      h("div", { class: "grid grid-2" }, card("Reads", datasetList(job.inputs), { id: "inputs" }), card("Writes", datasetList(job.outputs), { id: "outputs" })),
      h(
        "div",
        { class: "grid grid-3 spaced-top" },
        card(
          "Runs",
          runs.runs?.length
            ? table(
                [
                  { label: "State", cell: (run) => runStateBadge(run.state) },
                  { label: "Run", cell: (run) => h("span", { class: "mono small" }, String(run.id).slice(0, 8)) },
                  { label: "Started", cell: (run) => time(run.startedAt || run.createdAt) },
                  { label: "Ended", cell: (run) => (run.endedAt ? formatDateTime(run.endedAt) : "–") },
                  { label: "Took", className: "num", cell: (run) => (run.durationMs != null ? duration(run.durationMs) : "–") },
                ],
                runs.runs,
                { caption: "Runs" },
              )
            : empty("No runs recorded."),
          { id: "job-runs" },
        ),
        card(
          "About",
          keyValue([
            ["Namespace", h("span", { class: "mono small" }, job.namespace)],
            ["Created", job.createdAt ? formatDateTime(job.createdAt) : null],
            ["Updated", job.updatedAt ? formatDateTime(job.updatedAt) : null],
            ["Location", job.location ? h("a", { href: job.location, rel: "noreferrer" }, job.location) : null],
            ["Parent", job.parentJobName],
          ]),
          { id: "job-about" },
        ),
      ),
      sql ? h("div", { class: "spaced-top" }, card("SQL", h("pre", { class: "sql" }, sql), { id: "sql" })) : null,
    ),
  );
}
