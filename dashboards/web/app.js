// Boots the UI: header search, keyboard shortcuts, token prompt, and one view per route.

import { getToken, setToken } from "./api.js";
import { clear, h, icon } from "./dom.js";
import { matchRoute, startRouter } from "./router.js";
import { attachTypeahead } from "./search.js";
import { empty, pageHeader, setTitle } from "./ui.js";

const VIEWS = {
  overview: () => import("./overview.js"),
  search: () => import("./search.js"),
  lineage: () => import("./lineage.js"),
  dataset: () => import("./dataset.js"),
  job: () => import("./job.js"),
  incidents: () => import("./incidents.js").then((module) => ({ render: module.renderList })),
  incident: () => import("./incidents.js").then((module) => ({ render: module.renderOne })),
};

const main = document.getElementById("main");
let current = { controller: null, cleanup: null };

async function render({ restoreScroll }) {
  current.controller?.abort();
  if (typeof current.cleanup === "function") current.cleanup();
  const controller = new AbortController();
  current = { controller, cleanup: null };
  const route = matchRoute(location.pathname);
  delete main.dataset.ready;
  main.className = "";
  document.body.dataset.view = route.name;
  markNavigation(route.name);
  clear(main);
  if (!restoreScroll) window.scrollTo(0, 0);
  if (!VIEWS[route.name]) {
    setTitle("Not found");
    main.append(pageHeader({ title: "Page not found" }), empty("There is no page at this address.", "Use the search box or go back to the overview."));
    return;
  }
  const view = await VIEWS[route.name]();
  if (controller.signal.aborted) return;
  const context = { params: route.params, query: new URLSearchParams(location.search), signal: controller.signal };
  try {
    current.cleanup = await view.render(main, context);
  } catch (error) {
    if (error.name !== "AbortError") throw error;
  }
  if (!controller.signal.aborted) main.dataset.ready = route.name;
  if (!restoreScroll && document.activeElement === document.body) main.querySelector("h1")?.focus({ preventScroll: true });
}

function markNavigation(routeName) {
  const section = { overview: "overview", lineage: "lineage", incidents: "incidents", incident: "incidents" }[routeName];
  for (const link of document.querySelectorAll(".topnav a")) {
    if (link.dataset.section === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function isTyping(target) {
  return target.closest("input, textarea, select, [contenteditable=true]");
}

function shortcuts() {
  const search = document.getElementById("global-search");
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.metaKey || event.ctrlKey || event.altKey || isTyping(event.target)) return;
    if (event.key === "/") {
      event.preventDefault();
      search.focus();
      search.select();
    } else if (event.key === "?") {
      event.preventDefault();
      toggleHelp();
    }
  });
}

function toggleHelp() {
  const existing = document.getElementById("shortcut-help");
  if (existing) {
    existing.close();
    existing.remove();
    return;
  }
  const rows = [
    ["/", "Search datasets, jobs and columns"],
    ["?", "Show or hide this help"],
    ["In the lineage explorer", ""],
    ["← →", "Move to an upstream / downstream neighbour"],
    ["↑ ↓", "Move within a column of the graph"],
    ["Enter", "Focus the graph on the selected node"],
    ["o", "Open the selected dataset or job page"],
    ["c", "Show or hide the selected dataset's columns"],
    ["u / d", "One more level upstream / downstream"],
    ["U / D", "One level less upstream / downstream"],
    ["j", "Show or hide jobs"],
    ["f", "Fit the graph; 0 resets the zoom"],
    ["+ −", "Zoom in and out; arrows with Shift pan"],
    ["Esc", "Clear the column highlight"],
  ];
  const dialog = h(
    "dialog",
    { id: "shortcut-help", class: "dialog", "aria-labelledby": "shortcut-help-title" },
    h("h2", { id: "shortcut-help-title" }, "Keyboard shortcuts"),
    h("table", { class: "shortcut-table" }, h("tbody", {}, rows.map(([keys, text]) => h("tr", { class: text ? "" : "group" }, h("th", { scope: "row" }, text ? h("kbd", {}, keys) : keys), h("td", {}, text))))),
    h("form", { method: "dialog" }, h("button", { class: "button", type: "submit" }, "Close")),
  );
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

function tokenPrompt() {
  if (document.getElementById("token-dialog")) return;
  const input = h("input", { type: "password", name: "token", autocomplete: "off", "aria-label": "API token", value: getToken() });
  const dialog = h(
    "dialog",
    { id: "token-dialog", class: "dialog", "aria-labelledby": "token-dialog-title" },
    h("h2", { id: "token-dialog-title" }, icon("key"), " This server needs an API token"),
    h("p", { class: "muted" }, "Paste a token with the read scope. It is kept in this browser only (local storage)."),
    h(
      "form",
      { method: "dialog", onsubmit: () => setToken(input.value.trim()) },
      input,
      h("div", { class: "dialog-actions" }, h("button", { class: "button primary", type: "submit" }, "Save and reload")),
    ),
  );
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (getToken()) render({ restoreScroll: true });
  });
  document.body.append(dialog);
  dialog.showModal();
}

attachTypeahead(document.getElementById("global-search"), document.getElementById("search-suggestions"));
shortcuts();
window.addEventListener("observer:unauthorized", tokenPrompt);
startRouter(render);
