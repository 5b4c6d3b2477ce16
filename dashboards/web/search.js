// Search over datasets and jobs (Marquez's /search) and columns (/ui/columns): the header's
// type-ahead and the results page.

import { api, nodeId } from "./api.js";
import { clear, h, icon } from "./dom.js";
import { qualifier, shortName } from "./format.js";
import { navigate, paths } from "./router.js";
import { empty, errorBox, loading, pageHeader, setTitle, time } from "./ui.js";

async function searchAll(q, { limit = 20, signal } = {}) {
  const [named, columns] = await Promise.allSettled([
    api.search(q, { limit }, { signal }),
    api.columns(q, { limit }, { signal }),
  ]);
  if (named.status === "rejected" && columns.status === "rejected") throw named.reason;
  const results = named.status === "fulfilled" ? named.value.results || [] : [];
  return {
    datasets: results.filter((item) => String(item.type).toUpperCase() === "DATASET"),
    jobs: results.filter((item) => String(item.type).toUpperCase() === "JOB"),
    columns: columns.status === "fulfilled" ? columns.value.results || [] : [],
    total: named.status === "fulfilled" ? named.value.totalCount ?? results.length : 0,
  };
}

export function hrefFor(kind, item) {
  if (kind === "dataset") return paths.dataset(item.namespace, item.name);
  if (kind === "job") return paths.job(item.namespace, item.name);
  return paths.lineage(nodeId.dataset(item.namespace, item.dataset), { column: item.field });
}

function entries(found) {
  return [
    ...found.datasets.map((item) => ({ kind: "dataset", item, title: item.name, detail: item.namespace })),
    ...found.jobs.map((item) => ({ kind: "job", item, title: item.name, detail: item.namespace })),
    ...found.columns.map((item) => ({
      kind: "column",
      item,
      title: item.field,
      detail: `${item.dataset}${item.type ? ` · ${item.type}` : ""}`,
    })),
  ];
}

/** The header search box as an ARIA combobox: arrows move, Enter opens, Escape closes. */
export function attachTypeahead(input, listbox) {
  let active = -1;
  let items = [];
  let controller = null;
  let timer = 0;

  const close = () => {
    listbox.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  };
  const highlight = (index) => {
    const options = listbox.querySelectorAll("[role=option]");
    options.forEach((option, i) => option.setAttribute("aria-selected", String(i === index)));
    active = index;
    if (index >= 0 && options[index]) {
      input.setAttribute("aria-activedescendant", options[index].id);
      options[index].scrollIntoView({ block: "nearest" });
    } else input.removeAttribute("aria-activedescendant");
  };
  const open = (found, q) => {
    items = entries(found).slice(0, 12);
    clear(listbox);
    if (!items.length) listbox.append(h("li", { class: "suggestion-empty" }, `Nothing matches “${q}”`));
    items.forEach((entry, i) => {
      listbox.append(
        h(
          "li",
          {
            id: `suggestion-${i}`,
            role: "option",
            class: "suggestion",
            "aria-selected": "false",
            "data-kind": entry.kind,
            onmousedown: (event) => event.preventDefault(),
            onclick: () => go(i),
          },
          icon(entry.kind, `kind-${entry.kind}`),
          h("span", { class: "suggestion-text" }, h("span", { class: "suggestion-title" }, entry.title), h("span", { class: "suggestion-detail" }, entry.detail)),
          h("span", { class: "suggestion-kind" }, entry.kind),
        ),
      );
    });
    listbox.append(
      h("li", { class: "suggestion-all", onmousedown: (event) => event.preventDefault(), onclick: () => go(-1) }, `All results for “${q}” ↵`),
    );
    listbox.hidden = false;
    input.setAttribute("aria-expanded", "true");
    highlight(-1);
  };
  const go = (index) => {
    const q = input.value.trim();
    close();
    if (index >= 0 && items[index]) navigate(hrefFor(items[index].kind, items[index].item));
    else if (q) navigate(paths.search(q));
    input.blur();
  };

  input.addEventListener("input", () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (!q) return close();
    timer = setTimeout(async () => {
      controller?.abort();
      controller = new AbortController();
      try {
        open(await searchAll(q, { limit: 8, signal: controller.signal }), q);
      } catch (error) {
        if (error.name !== "AbortError") close();
      }
    }, 120);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" && !listbox.hidden) {
      event.preventDefault();
      highlight(Math.min(active + 1, items.length - 1));
    } else if (event.key === "ArrowUp" && !listbox.hidden) {
      event.preventDefault();
      highlight(Math.max(active - 1, -1));
    } else if (event.key === "Enter") {
      event.preventDefault();
      go(active);
    } else if (event.key === "Escape") {
      if (!listbox.hidden) close();
      else input.blur();
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 100));
}

function resultList(kind, list) {
  return h(
    "ul",
    { class: "result-list" },
    list.map((item) => {
      const title = kind === "column" ? item.field : shortName(item.name);
      const detail =
        kind === "column"
          ? [item.dataset, item.type ? ` · ${item.type}` : ""]
          : [qualifier(item.name) || item.name, " · ", item.namespace];
      return h(
        "li",
        {},
        h(
          "a",
          { href: hrefFor(kind, item), class: "result" },
          icon(kind, `kind-${kind}`),
          h("span", { class: "result-text" }, h("span", { class: "result-title" }, title), h("span", { class: "result-detail" }, detail)),
          item.updatedAt ? h("span", { class: "result-meta" }, "updated ", time(item.updatedAt)) : null,
        ),
        kind === "dataset"
          ? h("a", { class: "result-side", href: paths.lineage(nodeId.dataset(item.namespace, item.name)), "aria-label": `Lineage of ${item.name}` }, icon("lineage"), "Lineage")
          : null,
      );
    }),
  );
}

export async function render(main, { query, signal }) {
  const q = (query.get("q") || "").trim();
  setTitle(q ? `Search: ${q}` : "Search");
  main.append(pageHeader({ kicker: "Search", title: q ? `Results for “${q}”` : "Search" }));
  const form = h(
    "form",
    { class: "search-page-form", role: "search", onsubmit: (event) => {
      event.preventDefault();
      const value = form.querySelector("input").value.trim();
      if (value) navigate(paths.search(value));
    } },
    h("input", { type: "search", name: "q", value: q, "aria-label": "Search datasets, jobs and columns", placeholder: "orders, revenue, customer_id…" }),
    h("button", { type: "submit", class: "button primary" }, icon("search"), "Search"),
  );
  main.append(form);
  if (!q) return;
  const body = main.appendChild(loading());
  try {
    const found = await searchAll(q, { limit: 50, signal });
    const groups = [
      ["dataset", "Datasets", found.datasets],
      ["job", "Jobs", found.jobs],
      ["column", "Columns", found.columns],
    ].filter(([, , list]) => list.length);
    body.replaceWith(
      groups.length
        ? h(
            "div",
            { class: "result-groups" },
            groups.map(([kind, label, list]) =>
              h("section", { class: "result-group", "aria-label": label }, h("h2", {}, label, " ", h("span", { class: "count" }, list.length)), resultList(kind, list)),
            ),
          )
        : empty(`Nothing matches “${q}”.`, "Search looks at dataset, job and column names; try a shorter word."),
    );
  } catch (error) {
    if (error.name !== "AbortError") body.replaceWith(errorBox(error, "Search"));
  }
}
