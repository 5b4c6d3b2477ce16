// The lineage explorer: focus a node, walk upstream and downstream level by level, expand datasets
// into columns, follow one column's path (DIRECT solid, INDIRECT dashed), see health at a glance.

import { api, ignoreAbort, nodeId, optional } from "./api.js";
import { clear, h, icon, s } from "./dom.js";
import { duration, qualifier, shortName, timeAgo, truncate } from "./format.js";
import { LineageGraph, columnPaths } from "./graph.js";
import { layeredLayout } from "./layout.js";
import { navigate, paths, updateQuery } from "./router.js";
import { HEALTH, badge, empty, errorBox, healthBadge, healthOf, loading, pageHeader, runStateBadge, setTitle, time } from "./ui.js";

const DATASET_WIDTH = 240;
const DATASET_HEADER = 52;
const JOB_CHARS = 22;
const JOB_CHAR_WIDTH = 7.2;
const JOB_HEIGHT = 34;
const ROW = 24;
const MAX_ROWS = 60;
const MAX_NODES = 2500;
const DEFAULT_UP = 3;
const DEFAULT_DOWN = 2;
const MAX_LEVEL = 20;
const ZOOM = { min: 0.04, max: 2.5 };
// Semantic zoom: near, everything; mid, titles only, drawn larger so they stay legible; far, shapes
// and colours only (a 2,000-node graph fitted to the screen).
const MID_ZOOM = 0.7;
const NEAR_ZOOM = 0.8; // where a node comes into view when its details are wanted
const FAR_ZOOM = 0.3;
const MAX_LABEL_SCALE = 2.4;
const MID_LABEL_PX = 11; // on-screen size of titles at mid zoom
const TITLE_FONT = 13.5;
const TITLE_CHAR = 7.6; // average width of a title character at TITLE_FONT
const COLUMN_CHAR = 7.6; // width of a column name character (monospace, 12.5px)
const TYPE_CHAR = 6.7; // width of a column type character (monospace, 11px)
const LARGE_GRAPH = 400; // above this many nodes, no shadows, and only what is on screen is in the DOM
const CULL_MARGIN = 200; // screen pixels drawn around the visible part of a large graph

const JOB_RUN_TONE = { FAILED: "failed", FAIL: "failed", ABORTED: "aborted", RUNNING: "running", COMPLETED: "ok", COMPLETE: "ok" };

export async function render(main, { query, signal }) {
  const focus = query.get("node");
  if (!focus) return renderPicker(main, signal);
  const explorer = new Explorer(main, {
    focus,
    up: level(query.get("up"), DEFAULT_UP),
    down: level(query.get("down"), DEFAULT_DOWN),
    showJobs: query.get("jobs") !== "0",
    field: query.get("field") || (query.get("column") ? fieldOfFocus(focus, query.get("column")) : null),
    signal,
  });
  await explorer.load();
  return () => explorer.destroy();
}

function level(value, fallback) {
  const number = Number.parseInt(value ?? "", 10);
  return Number.isFinite(number) ? Math.max(0, Math.min(MAX_LEVEL, number)) : fallback;
}

function fieldOfFocus(focus, column) {
  return focus.startsWith("dataset:") ? `datasetField:${focus.slice("dataset:".length)}:${column}` : null;
}

async function renderPicker(main, signal) {
  setTitle("Lineage");
  main.classList.add("page");
  main.append(
    pageHeader({
      kicker: "Lineage",
      title: "Explore lineage",
      subtitle: "Pick a dataset or job: search for it above (press /), or start from one of these.",
    }),
  );
  const body = main.appendChild(loading());
  const overview = await optional(api.overview({ signal }));
  const datasets = [...(overview?.attention || []), ...(overview?.recentlyUpdated || [])];
  const seen = new Set();
  const unique = datasets.filter((item) => !seen.has(item.nodeId) && seen.add(item.nodeId));
  body.replaceWith(
    unique.length
      ? h(
          "ul",
          { class: "picker" },
          unique.slice(0, 24).map((item) =>
            h(
              "li",
              {},
              h(
                "a",
                { href: paths.lineage(item.nodeId), class: "picker-item" },
                icon("dataset", "kind-dataset"),
                h("span", { class: "result-text" }, h("span", { class: "result-title" }, shortName(item.name)), h("span", { class: "result-detail" }, `${qualifier(item.name)} · ${item.namespace}`)),
                healthBadge(healthOf(item, item.lastUpdatedAt)),
              ),
            ),
          ),
        )
      : empty("No datasets yet.", "Send OpenLineage events to /api/v1/lineage or run `observer collect`."),
  );
}

class Explorer {
  constructor(main, state) {
    this.main = main;
    this.state = { ...state, expanded: new Set(), selected: state.focus };
    this.signal = state.signal;
    this.graph = new LineageGraph();
    this.status = {};
    this.path = null; // column path of state.field
    this.expandedLinks = new Map(); // dataset id -> column edges around it
    this.transform = { x: 0, y: 0, k: 1 };
    this.items = new Map(); // node id -> {node, pos, health, rows, element (made when first shown)}
    this.edgeItems = []; // {d, cls, box, element (made when first shown)}
    this.shownNodes = new Set();
    this.shownEdges = new Set();
    this.listeners = [];
    this.build();
  }

  build() {
    setTitle("Lineage");
    this.main.classList.add("explorer");
    this.title = h("h1", { tabindex: "-1" }, "Lineage");
    this.levelsUp = h("output", { class: "level-value", "aria-live": "polite" });
    this.levelsDown = h("output", { class: "level-value", "aria-live": "polite" });
    this.jobsToggle = h("input", { type: "checkbox", checked: this.state.showJobs, onchange: () => this.setJobs(this.jobsToggle.checked) });
    this.summary = h("span", { class: "explorer-summary muted" });
    const stepper = (label, key, output, direction) =>
      h(
        "div",
        { class: "stepper", role: "group", "aria-label": `${label} levels` },
        direction === "up" ? icon("arrowLeft") : null,
        h("span", { class: "stepper-label" }, label),
        h("button", { class: "icon-button", type: "button", "aria-label": `One level less ${label.toLowerCase()}`, onclick: () => this.changeLevel(key, -1) }, icon("minus")),
        output,
        h("button", { class: "icon-button", type: "button", "aria-label": `One more level ${label.toLowerCase()}`, onclick: () => this.changeLevel(key, 1) }, icon("plus")),
        direction === "down" ? icon("arrowRight") : null,
      );
    const toolbar = h(
      "div",
      { class: "explorer-toolbar" },
      h("div", { class: "explorer-heading" }, h("div", { class: "kicker" }, "Lineage of"), this.title),
      h(
        "div",
        { class: "explorer-controls" },
        stepper("Upstream", "up", this.levelsUp, "up"),
        stepper("Downstream", "down", this.levelsDown, "down"),
        h("label", { class: "toggle" }, this.jobsToggle, h("span", {}, "Jobs")),
        h("button", { class: "button", type: "button", onclick: () => this.fit(), title: "Fit the whole graph (f)" }, icon("fit"), "Fit"),
      ),
      this.summary,
    );
    this.viewport = s("g", { class: "viewport" });
    this.edgeLayer = s("g", { class: "edges" });
    this.columnEdgeLayer = s("g", { class: "column-edges" });
    this.nodeLayer = s("g", { class: "nodes" });
    // Zoomed far out, every node is one shape and all edges a few paths: thousands stay cheap.
    this.farLayer = s("g", { class: "far", display: "none" });
    this.viewport.append(this.edgeLayer, this.farLayer, this.nodeLayer, this.columnEdgeLayer);
    this.svg = s(
      "svg",
      {
        class: "lineage-canvas",
        tabindex: "0",
        role: "application",
        "aria-roledescription": "lineage graph",
        "aria-label": "Lineage graph. Arrow keys move between nodes; press ? for all shortcuts.",
        "aria-describedby": "lineage-announce",
      },
      markers(),
      this.viewport,
    );
    this.announce = h("div", { id: "lineage-announce", class: "visually-hidden", "aria-live": "polite" });
    this.minimap = s("svg", { class: "minimap", "aria-hidden": "true" });
    this.banner = h("div", { class: "explorer-banner", hidden: true, role: "status" });
    this.canvasWrap = h("div", { class: "canvas-wrap" }, this.svg, this.banner, this.minimap, legend(), this.announce);
    this.panel = h("aside", { class: "explorer-panel", "aria-label": "Selected node" });
    this.main.append(toolbar, this.canvasWrap, this.panel);
    this.bindCanvas();
    this.updateLevels();
  }

  measure() {
    this.size = { width: this.svg.clientWidth || 800, height: this.svg.clientHeight || 600 };
  }

  destroy() {
    this.resizeObserver?.disconnect();
    for (const [target, type, handler] of this.listeners) target.removeEventListener(type, handler);
    this.main.classList.remove("explorer");
  }

  listen(target, type, handler, options) {
    target.addEventListener(type, handler, options);
    this.listeners.push([target, type, handler]);
  }

  // ---- data ---------------------------------------------------------------------------------

  async load({ keepView = false } = {}) {
    const { focus, up, down } = this.state;
    this.svg.setAttribute("aria-busy", "true");
    const requests = [];
    if (up > 0) requests.push(api.lineage(focus, { depth: up, direction: "upstream", maxNodes: MAX_NODES }, { signal: this.signal }));
    if (down > 0 || up === 0) requests.push(api.lineage(focus, { depth: down, direction: "downstream", maxNodes: MAX_NODES }, { signal: this.signal }));
    let responses;
    try {
      [responses, this.status] = await Promise.all([
        Promise.all(requests),
        optional(api.status({ signal: this.signal }), {}).then((value) => value?.datasets || {}),
      ]);
    } catch (error) {
      if (error.name === "AbortError") return;
      this.showError(error);
      return;
    }
    this.graph = new LineageGraph();
    for (const response of responses) this.graph.merge(response);
    this.graph.prune();
    if (!this.graph.nodes.has(focus)) {
      this.showError({ status: 404, message: "not found" });
      return;
    }
    try {
      if (this.state.field) await this.loadPath(this.state.field);
      await Promise.all([...this.state.expanded].map((id) => this.loadExpandedLinks(id)));
    } catch (error) {
      ignoreAbort(error); // left the page meanwhile
      return;
    }
    const focusNode = this.graph.nodes.get(focus);
    const name = focusNode.data.name || focus;
    this.title.textContent = shortName(name);
    this.title.title = name;
    setTitle(`Lineage of ${shortName(name)}`);
    this.banner.hidden = !this.graph.truncated;
    this.banner.textContent = this.graph.truncated ? `Showing the first ${MAX_NODES} nodes: lower the levels to see a complete neighbourhood.` : "";
    if (!this.graph.nodes.has(this.state.selected)) this.state.selected = focus;
    const before = this.items.get(focus)?.pos;
    this.draw();
    if (!keepView) this.initialView();
    else if (before) this.keepInPlace(focus, before);
    this.svg.removeAttribute("aria-busy");
    this.main.dataset.ready = "lineage";
  }

  showError(error) {
    clear(this.canvasWrap).append(errorBox(error, "This node's lineage"));
    this.main.dataset.ready = "lineage";
  }

  async loadPath(fieldId) {
    const response = await optional(api.columnLineage(fieldId, { depth: MAX_LEVEL, withDownstream: true }, { signal: this.signal }));
    this.path = response ? columnPaths(response) : null;
    if (!this.path) return;
    this.path.origin = fieldId;
    for (const [id, ref] of this.path.datasets) this.graph.ensureDataset(id, ref.namespace, ref.name);
    // Datasets reached only through columns still need a place in the layout.
    const linked = new Set([...this.graph.edges.values()].map((edge) => `${edge.source}\u0000${edge.target}`));
    for (const edge of this.path.edges) {
      const a = edge.source.dataset;
      const b = edge.target.dataset;
      if (a !== b && !this.connected(a, b, linked)) this.graph.addEdge(a, b);
    }
  }

  connected(a, b, linked) {
    if (linked.has(`${a}\u0000${b}`)) return true;
    for (const edge of this.graph.edges.values()) {
      if (edge.source === a && linked.has(`${edge.target}\u0000${b}`)) return true;
    }
    return false;
  }

  async loadExpandedLinks(id) {
    if (this.expandedLinks.has(id)) return;
    const response = await optional(api.columnLineage(id, { depth: 1, withDownstream: true }, { signal: this.signal }));
    this.expandedLinks.set(id, response ? columnPaths(response).edges : []);
  }

  // ---- state changes ------------------------------------------------------------------------

  changeLevel(key, delta) {
    const next = Math.max(0, Math.min(MAX_LEVEL, this.state[key] + delta));
    if (next === this.state[key]) return;
    this.state[key] = next;
    updateQuery({ [key]: next });
    this.updateLevels();
    this.load({ keepView: true });
  }

  updateLevels() {
    this.levelsUp.textContent = String(this.state.up);
    this.levelsDown.textContent = String(this.state.down);
  }

  setJobs(show) {
    this.state.showJobs = show;
    this.jobsToggle.checked = show;
    updateQuery({ jobs: show ? null : "0" });
    if (!show && this.graph.nodes.get(this.state.selected)?.type === "JOB") this.state.selected = this.state.focus;
    this.draw();
    this.centerOn(this.state.selected, { keepZoom: true });
  }

  async toggleColumns(id) {
    if (this.graph.nodes.get(id)?.type !== "DATASET") return;
    if (this.state.expanded.has(id)) this.state.expanded.delete(id);
    else {
      this.state.expanded.add(id);
      try {
        await this.loadExpandedLinks(id);
      } catch (error) {
        ignoreAbort(error); // left the page meanwhile
        return;
      }
    }
    this.draw();
    // column names are legible only near: zoomed out, expanding a dataset zooms in on it
    if (this.state.expanded.has(id) && this.transform.k < MID_ZOOM) this.centerOn(id, { k: NEAR_ZOOM });
    else this.keepVisible(id);
  }

  async highlight(fieldId) {
    this.state.field = fieldId;
    updateQuery({ field: fieldId, column: null });
    try {
      if (fieldId) await this.loadPath(fieldId);
      else this.path = null;
    } catch (error) {
      ignoreAbort(error); // left the page meanwhile
      return;
    }
    this.draw();
    if (this.path) this.framePath();
    const count = this.path ? [...this.path.fields.values()].reduce((sum, set) => sum + set.size, 0) : 0;
    this.say(fieldId ? `Column path highlighted: ${count} columns in ${this.path?.fields.size || 0} datasets.` : "Column highlight cleared.");
  }

  select(id, { scroll = true } = {}) {
    if (!this.items.has(id)) return;
    this.items.get(this.state.selected)?.element?.classList.remove("selected");
    this.state.selected = id;
    const item = this.items.get(id);
    if (scroll) this.keepVisible(id);
    this.cull(); // the selection is always drawn
    item.element.classList.add("selected");
    this.svg.setAttribute("aria-activedescendant", item.element.id);
    this.renderPanel();
    const data = item.node.data;
    this.say(`${item.node.type === "JOB" ? "Job" : "Dataset"} ${data.name || id}. ${this.neighbours(id, "up").length} upstream, ${this.neighbours(id, "down").length} downstream. ${HEALTH[item.health]?.label || ""}`);
  }

  say(text) {
    this.announce.textContent = text;
  }

  // ---- drawing ------------------------------------------------------------------------------

  rowsOf(node) {
    if (node.type !== "DATASET") return null;
    const fields = node.data.fields || [];
    const onPath = this.path?.fields.get(node.id);
    if (this.state.expanded.has(node.id)) {
      const names = new Set(fields.map((field) => field.name));
      const extra = [...(onPath || [])].filter((name) => !names.has(name)).map((name) => ({ name }));
      return { rows: [...fields, ...extra].slice(0, MAX_ROWS), hidden: Math.max(0, fields.length + extra.length - MAX_ROWS), all: true };
    }
    if (onPath?.size) {
      const order = new Map(fields.map((field, i) => [field.name, i]));
      const types = new Map(fields.map((field) => [field.name, field.type]));
      const rank = (name) => order.get(name) ?? fields.length;
      const rows = [...onPath].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b)).map((name) => ({ name, type: types.get(name) }));
      return { rows, hidden: Math.max(0, fields.length - rows.length), all: false };
    }
    return null;
  }

  /** Lays the graph out and draws it: only what is on screen when the graph is large (see cull). */
  draw() {
    const started = performance.now();
    delete this.svg.dataset.renderMs;
    this.measure(); // before the DOM changes, so it does not force a layout of the new graph
    const view = this.graph.view({ showJobs: this.state.showJobs });
    const sized = view.nodes.map((node) => {
      const rows = this.rowsOf(node);
      if (node.type === "JOB") return { id: node.id, width: jobWidth(node), height: JOB_HEIGHT, node, rows };
      const extra = rows ? rows.rows.length * ROW + (rows.hidden ? ROW : 0) + 8 : 0;
      return { id: node.id, width: DATASET_WIDTH, height: DATASET_HEADER + extra, node, rows };
    });
    const result = layeredLayout(sized, view.edges);
    this.layout = result;
    this.svg.dataset.layoutMs = result.stats.ms.toFixed(1);
    this.svg.dataset.nodes = String(result.stats.nodes);
    for (const layer of [this.nodeLayer, this.edgeLayer, this.columnEdgeLayer, this.farLayer]) clear(layer);
    this.farDrawn = false;
    this.shownNodes.clear();
    this.shownEdges.clear();
    this.items.clear();
    const onPath = this.pathMembers(view);
    this.large = sized.length > LARGE_GRAPH;
    this.svg.classList.toggle("has-path", Boolean(this.path));
    this.svg.classList.toggle("large", this.large);

    sized.forEach((item, index) => {
      const pos = result.positions.get(item.id);
      const health = this.healthOf(item.node);
      this.items.set(item.id, { id: item.id, index, node: item.node, pos, health, rows: item.rows, onPath: onPath.nodes.has(item.id), element: null, scale: 1 });
    });
    this.edgeItems = result.edges.map((edge) => {
      const from = result.positions.get(edge.source);
      const to = result.positions.get(edge.target);
      const points = [
        { x: from.x + from.width, y: from.y + Math.min(from.height, DATASET_HEADER) / 2 },
        ...edge.bends,
        { x: to.x, y: to.y + Math.min(to.height, DATASET_HEADER) / 2 },
      ];
      const ys = points.map((point) => point.y);
      return {
        d: curve(points),
        cls: ["edge", onPath.edges.has(`${edge.source}\u0000${edge.target}`) && "on-path", edge.reversed && "cycle"].filter(Boolean).join(" "),
        // a curve stays within its control points: horizontally at most 24 px beyond its ends
        box: { x: Math.min(points[0].x, points.at(-1).x) - 24, y: Math.min(...ys), width: Math.abs(points.at(-1).x - points[0].x) + 48, height: Math.max(...ys) - Math.min(...ys) },
        element: null,
      };
    });
    this.drawColumnEdges();
    this.renderMinimap();
    this.labelScale = 1;
    this.applyTransform();
    this.renderPanel();
    const incidents = [...this.items.values()].filter((item) => item.health === "incident").length;
    const stale = [...this.items.values()].filter((item) => item.health === "late").length;
    this.summary.textContent = [
      `${result.stats.nodes} nodes`,
      incidents ? `${incidents} with incidents` : null,
      stale ? `${stale} stale` : null,
      `layout ${result.stats.ms.toFixed(0)} ms`,
    ]
      .filter(Boolean)
      .join(" · ");
    const selected = this.items.get(this.state.selected);
    if (selected?.element) this.svg.setAttribute("aria-activedescendant", selected.element.id);
    this.svg.dataset.drawMs = (performance.now() - started).toFixed(1);
    // until the next frame is on screen: style, layout and paint of what was drawn
    requestAnimationFrame(() => setTimeout(() => (this.svg.dataset.renderMs = (performance.now() - started).toFixed(1))));
  }

  /**
   * Puts in the DOM the nodes and edges in view (with a margin) and takes out the others; a small
   * graph is drawn whole, so the browser's find in page and screen readers see all of it. Zoomed far
   * out, nodes are plain shapes (farLayer), except the selected and focused ones.
   */
  cull() {
    if (!this.items.size) return;
    const far = this.svg.classList.contains("zoom-far");
    this.farLayer.setAttribute("display", far ? "inline" : "none");
    if (far && !this.farDrawn) this.drawFar();
    const { x, y, k } = this.transform;
    const box = this.size;
    const area = this.large
      ? { left: (-CULL_MARGIN - x) / k, top: (-CULL_MARGIN - y) / k, right: (box.width + CULL_MARGIN - x) / k, bottom: (box.height + CULL_MARGIN - y) / k }
      : null;
    const inView = (rect) => !area || (rect.x <= area.right && rect.x + rect.width >= area.left && rect.y <= area.bottom && rect.y + rect.height >= area.top);
    const nodes = new Set();
    for (const item of this.items.values()) {
      if (item.id === this.state.selected || item.id === this.state.focus || (!far && inView(item.pos))) nodes.add(item);
    }
    for (const item of this.shownNodes) if (!nodes.has(item)) item.element.remove();
    const added = [];
    for (const item of nodes) {
      if (this.shownNodes.has(item)) continue;
      item.element ||= this.nodeElement(item);
      if (item.scale !== this.labelScale) this.label(item);
      added.push(item.element);
    }
    this.nodeLayer.append(...added);
    this.shownNodes = nodes;
    const edges = new Set(far ? [] : this.edgeItems.filter((edge) => inView(edge.box)));
    for (const edge of this.shownEdges) if (!edges.has(edge)) edge.element.remove();
    const addedEdges = [];
    for (const edge of edges) {
      if (this.shownEdges.has(edge)) continue;
      edge.element ||= s("path", { class: edge.cls, d: edge.d, "marker-end": "url(#arrow)" });
      addedEdges.push(edge.element);
    }
    this.edgeLayer.append(...addedEdges);
    this.shownEdges = edges;
  }

  /** Every node as one rectangle coloured by its health, every edge in one path per kind. */
  drawFar() {
    const paths = new Map();
    for (const edge of this.edgeItems) paths.set(edge.cls, `${paths.get(edge.cls) || ""}${edge.d}`);
    const fragment = document.createDocumentFragment();
    for (const [cls, d] of paths) fragment.append(s("path", { class: `${cls} far-edge`, d }));
    for (const item of this.items.values()) {
      const { pos, node, health } = item;
      const kind = node.type === "JOB" ? `job run-${health}` : `dataset health-${health}`;
      fragment.append(s("rect", { class: ["node-dot", kind, item.onPath && "on-path"], x: pos.x, y: pos.y, width: pos.width, height: pos.height, rx: 10, "data-id": item.id }));
      if (node.type !== "JOB" && (health === "incident" || health === "late")) {
        fragment.append(s("circle", { class: `dot-badge ${health}`, cx: pos.x + pos.width - 22, cy: pos.y + 18, r: 20 }));
      }
    }
    this.farLayer.append(fragment);
    this.farDrawn = true;
  }

  nodeElement(item) {
    const element = item.node.type === "JOB" ? this.jobElement(item.node, item.pos) : this.datasetElement(item.node, item.pos, item.rows, item.health);
    element.id = `lineage-node-${item.index}`;
    if (item.onPath) element.classList.add("on-path");
    if (item.id === this.state.focus) element.classList.add("focus");
    if (item.id === this.state.selected) element.classList.add("selected");
    return element;
  }

  pathMembers(view) {
    const nodes = new Set();
    const edges = new Set();
    if (!this.path) return { nodes, edges };
    for (const id of this.path.fields.keys()) nodes.add(id);
    // jobs between two datasets of the path are on it too
    const inputs = new Map();
    for (const edge of this.graph.edges.values()) {
      if (nodes.has(edge.source) && this.graph.nodes.get(edge.target)?.type === "JOB") {
        if (!inputs.has(edge.target)) inputs.set(edge.target, []);
        inputs.get(edge.target).push(edge.source);
      }
    }
    for (const edge of this.graph.edges.values()) {
      if (inputs.has(edge.source) && nodes.has(edge.target)) {
        nodes.add(edge.source);
        edges.add(`${edge.source}\u0000${edge.target}`);
        for (const source of inputs.get(edge.source)) edges.add(`${source}\u0000${edge.source}`);
      }
    }
    for (const edge of view.edges) if (nodes.has(edge.source) && nodes.has(edge.target) && !edge.via) edges.add(`${edge.source}\u0000${edge.target}`);
    for (const edge of view.edges) if (edge.via && nodes.has(edge.via)) edges.add(`${edge.source}\u0000${edge.target}`);
    return { nodes, edges };
  }

  healthOf(node) {
    if (node.type === "JOB") return JOB_RUN_TONE[String(node.data.latestRun?.state || "").toUpperCase()] || "none";
    return healthOf(this.status[node.id], node.data.lastModifiedAt);
  }

  datasetElement(node, pos, rows, health) {
    const data = node.data;
    const name = data.name || node.id;
    const status = this.status[node.id];
    const incidents = status?.openIncidents?.length || 0;
    const group = s("g", {
      class: ["node", "dataset", `health-${health}`, rows?.all && "expanded"],
      transform: `translate(${pos.x} ${pos.y})`,
      "data-id": node.id,
      role: "img",
      "aria-label": `Dataset ${name}`,
    });
    group.append(
      s("title", {}, `${name}\n${data.namespace || ""}\n${HEALTH[health].label}${data.lastModifiedAt ? ` · updated ${timeAgo(data.lastModifiedAt)}` : ""}`),
      s("rect", { class: "node-box", width: pos.width, height: pos.height, rx: 10 }),
      s("rect", { class: "node-stripe", x: 0, y: 0, width: 5, height: pos.height, rx: 2.5 }),
      ...nodeIcon("dataset", 14, 12),
      s("text", { class: "node-title", x: 38, y: 23, "data-short": shortName(name) }, truncate(shortName(name), Math.floor((pos.width - 46 - (health === "incident" || health === "late" ? 26 : 0)) / TITLE_CHAR))),
      s("text", { class: "node-sub", x: 38, y: 40 }, truncate(qualifier(name) || data.namespace || "", 28)),
    );
    if (health === "incident") {
      group.append(
        s("g", { transform: `translate(${pos.width - 22} 18)` }, s("g", { class: "node-badge incident" }, s("circle", { r: 10 }), s("text", { y: 4 }, incidents > 9 ? "9+" : String(incidents || "!")))),
      );
    } else if (health === "late") {
      group.append(s("g", { transform: `translate(${pos.width - 22} 18)` }, s("g", { class: "node-badge late" }, s("circle", { r: 10 }), s("path", { d: "M0 -5v5l3.5 2.2" }))));
    }
    const fieldCount = (data.fields || []).length;
    if (fieldCount) {
      const expander = s(
        "g",
        { class: "node-expander", transform: `translate(${pos.width - 22} ${DATASET_HEADER - 15})`, "data-action": "columns" },
        s("title", {}, rows?.all ? "Hide columns (c)" : `Show ${fieldCount} columns (c)`),
        s("rect", { x: -9, y: -8, width: 18, height: 14, rx: 4 }),
        s("path", { d: rows?.all ? "M-4 -1h8" : "M-4 -1h8M0 -5v8" }),
      );
      group.append(expander);
    }
    if (rows) {
      group.append(s("line", { class: "node-divider", x1: 0, x2: pos.width, y1: DATASET_HEADER, y2: DATASET_HEADER }));
      const onPath = this.path?.fields.get(node.id);
      const originField = this.path?.origin;
      rows.rows.forEach((field, i) => {
        const y = DATASET_HEADER + 4 + i * ROW;
        const id = nodeId.field(data.namespace, data.name, field.name);
        const [name, type] = columnLabels(field, pos.width);
        group.append(
          s(
            "g",
            {
              class: ["column-row", onPath?.has(field.name) && "on-path", originField === id && "origin"],
              transform: `translate(0 ${y})`,
              "data-field": id,
            },
            s("rect", { class: "column-hit", x: 6, y: 0, width: pos.width - 12, height: ROW - 2, rx: 5 }),
            s("text", { class: "column-name", x: 16, y: 15.5 }, name),
            type ? s("text", { class: "column-type", x: pos.width - 14, y: 15.5, "text-anchor": "end" }, type) : null,
          ),
        );
      });
      if (rows.hidden) {
        group.append(s("text", { class: "column-more", x: 16, y: DATASET_HEADER + 4 + rows.rows.length * ROW + 15 }, `+ ${rows.hidden} more column${rows.hidden === 1 ? "" : "s"}`));
      }
    }
    return group;
  }

  jobElement(node, pos) {
    const data = node.data;
    const name = data.name || node.id;
    const state = String(data.latestRun?.state || "").toUpperCase();
    const tone = JOB_RUN_TONE[state] || "none";
    return s(
      "g",
      { class: ["node", "job", `run-${tone}`], transform: `translate(${pos.x} ${pos.y})`, "data-id": node.id, role: "img", "aria-label": `Job ${name}` },
      s("title", {}, `${name}\n${data.namespace || ""}${state ? `\nlatest run: ${state.toLowerCase()}` : ""}`),
      s("rect", { class: "node-box", width: pos.width, height: pos.height, rx: pos.height / 2 }),
      ...nodeIcon("job", 12, 9),
      s("text", { class: "node-title job-title", x: 34, y: 21.5, "data-short": shortName(name) }, truncate(shortName(name), JOB_CHARS)),
      state ? s("circle", { class: "run-dot", cx: pos.width - 16, cy: pos.height / 2, r: 5 }) : null,
    );
  }

  rowAnchor(dataset, field, side) {
    const item = this.items.get(dataset);
    if (!item) return null;
    const index = item.rows?.rows.findIndex((row) => row.name === field) ?? -1;
    const x = side === "out" ? item.pos.x + item.pos.width : item.pos.x;
    if (index < 0) return null;
    return { x, y: item.pos.y + DATASET_HEADER + 4 + index * ROW + (ROW - 2) / 2 };
  }

  drawColumnEdges() {
    const drawn = new Map();
    const add = (edge, onPath) => {
      const start = this.rowAnchor(edge.source.dataset, edge.source.field, "out");
      const end = this.rowAnchor(edge.target.dataset, edge.target.field, "in");
      if (!start || !end) return;
      const key = `${edge.source.dataset}\u0000${edge.source.field}\u0000${edge.target.dataset}\u0000${edge.target.field}`;
      if (drawn.has(key) && !onPath) return;
      drawn.set(key, { edge, start, end, onPath });
    };
    for (const edges of this.expandedLinks.values()) for (const edge of edges) add(edge, false);
    for (const edge of this.path?.edges || []) add(edge, true);
    const fragment = document.createDocumentFragment();
    for (const { edge, start, end, onPath } of drawn.values()) {
      const direct = edge.type !== "INDIRECT";
      fragment.append(
        s(
          "path",
          {
            class: ["column-edge", direct ? "direct" : "indirect", onPath && "on-path"],
            d: curve([start, end]),
            "marker-end": `url(#arrow-${direct ? "direct" : "indirect"})`,
          },
          s("title", {}, `${edge.source.field} → ${edge.target.field}: ${edge.label || edge.type}`),
        ),
      );
    }
    this.columnEdgeLayer.append(fragment);
  }

  renderMinimap() {
    const { width, height } = this.layout;
    clear(this.minimap);
    if (!width || !height) return;
    const pad = 20;
    this.minimap.setAttribute("viewBox", `${-pad} ${-pad} ${width + 2 * pad} ${height + 2 * pad}`);
    this.minimap.setAttribute("preserveAspectRatio", "xMidYMid meet");
    const fragment = document.createDocumentFragment();
    fragment.append(s("rect", { class: "minimap-bg", x: -pad, y: -pad, width: width + 2 * pad, height: height + 2 * pad }));
    // one path per colour: a few elements however large the graph
    const shapes = new Map();
    for (const item of this.items.values()) {
      const kind = item.node.type === "JOB" ? "mini-job" : `mini-${item.health}`;
      const { x, y, width: w, height: hh } = item.pos;
      shapes.set(kind, `${shapes.get(kind) || ""}M${x} ${y}h${w}v${hh}h${-w}z`);
    }
    for (const [kind, d] of shapes) fragment.append(s("path", { class: `mini ${kind}`, d }));
    const focus = this.items.get(this.state.focus);
    if (focus) fragment.append(s("rect", { class: ["mini", "mini-focus", focus.node.type === "JOB" ? "mini-job" : `mini-${focus.health}`], x: focus.pos.x, y: focus.pos.y, width: focus.pos.width, height: focus.pos.height, rx: 6 }));
    this.minimapView = s("rect", { class: "minimap-view" });
    fragment.append(this.minimapView);
    this.minimap.append(fragment);
    this.updateMinimapView();
  }

  updateMinimapView() {
    if (!this.minimapView) return;
    const { x, y, k } = this.transform;
    const box = this.size;
    this.minimapView.setAttribute("x", String(-x / k));
    this.minimapView.setAttribute("y", String(-y / k));
    this.minimapView.setAttribute("width", String(box.width / k));
    this.minimapView.setAttribute("height", String(box.height / k));
  }

  // ---- side panel ---------------------------------------------------------------------------

  renderPanel() {
    const item = this.items.get(this.state.selected);
    clear(this.panel);
    if (this.path) this.panel.append(this.pathSummary());
    if (!item) return;
    const { node } = item;
    const data = node.data;
    const name = data.name || node.id;
    const isDataset = node.type === "DATASET";
    const status = this.status[node.id];
    const pageHref = isDataset ? paths.dataset(data.namespace, data.name) : paths.job(data.namespace, data.name);
    const actions = h(
      "div",
      { class: "panel-actions" },
      node.id !== this.state.focus ? h("a", { class: "button primary", href: this.hrefFor(node.id) }, icon("lineage"), "Focus here") : null,
      h("a", { class: "button", href: pageHref }, isDataset ? "Dataset page" : "Job page"),
      isDataset && (data.fields || []).length
        ? h("button", { class: "button", type: "button", "aria-pressed": String(this.state.expanded.has(node.id)), onclick: () => this.toggleColumns(node.id) }, this.state.expanded.has(node.id) ? "Hide columns" : "Show columns")
        : null,
    );
    const header = h(
      "div",
      { class: "panel-header" },
      h("div", { class: "kicker" }, icon(isDataset ? "dataset" : "job"), isDataset ? " Dataset" : " Job", node.id === this.state.focus ? " · in focus" : ""),
      h("h2", { class: "panel-title" }, shortName(name)),
      h("div", { class: "panel-name mono" }, name),
      h("div", { class: "panel-namespace muted" }, data.namespace),
      h(
        "div",
        { class: "badges" },
        isDataset ? healthBadge(item.health) : data.latestRun ? runStateBadge(data.latestRun.state) : badge("no runs seen"),
        isDataset && data.lastModifiedAt ? h("span", { class: "muted small" }, "updated ", time(data.lastModifiedAt)) : null,
        !isDataset && data.latestRun?.durationMs ? h("span", { class: "muted small" }, `took ${duration(data.latestRun.durationMs)}`) : null,
      ),
    );
    this.panel.append(header, actions);
    if (status?.openIncidents?.length) {
      this.panel.append(
        h(
          "section",
          { class: "panel-section" },
          h("h3", {}, "Open incidents"),
          h("ul", { class: "panel-list" }, status.openIncidents.map((incident) => h("li", {}, h("a", { href: paths.incident(incident.id), class: "incident-link" }, icon("incident"), incident.title || `Incident ${incident.id}`)))),
        ),
      );
    }
    if (isDataset && (data.fields || []).length) {
      const onPath = this.path?.fields.get(node.id);
      this.panel.append(
        h(
          "section",
          { class: "panel-section" },
          h("h3", {}, "Columns ", h("span", { class: "count" }, data.fields.length)),
          h("p", { class: "muted small" }, "Choose a column to highlight where it comes from and where it goes."),
          h(
            "ul",
            { class: "panel-columns" },
            data.fields.slice(0, 200).map((field) => {
              const id = nodeId.field(data.namespace, data.name, field.name);
              return h(
                "li",
                {},
                h(
                  "button",
                  {
                    type: "button",
                    class: ["column-button", onPath?.has(field.name) && "on-path"],
                    "aria-pressed": String(this.state.field === id),
                    onclick: () => this.highlight(this.state.field === id ? null : id),
                  },
                  h("span", { class: "mono" }, field.name),
                  field.type ? h("span", { class: "muted small" }, String(field.type).toLowerCase()) : null,
                ),
              );
            }),
          ),
        ),
      );
    }
    for (const [label, direction] of [["Upstream", "up"], ["Downstream", "down"]]) {
      const list = this.neighbours(node.id, direction);
      if (!list.length) continue;
      this.panel.append(
        h(
          "section",
          { class: "panel-section" },
          h("h3", {}, label, " ", h("span", { class: "count" }, list.length)),
          h(
            "ul",
            { class: "panel-list" },
            list.slice(0, 50).map((id) => {
              const other = this.graph.nodes.get(id);
              return h("li", {}, h("button", { type: "button", class: "link-button", onclick: () => this.select(id) }, icon(other.type === "JOB" ? "job" : "dataset"), other.data.name || id));
            }),
          ),
        ),
      );
    }
  }

  pathSummary() {
    const origin = this.path.origin;
    const columns = [...this.path.fields.values()].reduce((sum, set) => sum + set.size, 0);
    const direct = this.path.edges.filter((edge) => edge.type !== "INDIRECT").length;
    const indirect = this.path.edges.length - direct;
    const field = origin.split(":").pop();
    return h(
      "section",
      { class: "path-summary", "aria-label": "Highlighted column path" },
      h("div", { class: "path-summary-head" }, h("div", { class: "kicker" }, "Column path"), h("button", { class: "icon-button", type: "button", "aria-label": "Clear the column highlight", onclick: () => this.highlight(null) }, icon("close"))),
      h("div", { class: "path-summary-title mono" }, field),
      h("div", { class: "muted small" }, `${columns} columns in ${this.path.fields.size} datasets · ${direct} direct, ${indirect} indirect`),
    );
  }

  neighbours(id, direction) {
    const view = this.graph.view({ showJobs: this.state.showJobs });
    return view.edges.filter((edge) => (direction === "up" ? edge.target === id : edge.source === id)).map((edge) => (direction === "up" ? edge.source : edge.target)).filter((other) => this.items.has(other));
  }

  hrefFor(id) {
    return paths.lineage(id, {
      up: this.state.up === DEFAULT_UP ? null : this.state.up,
      down: this.state.down === DEFAULT_DOWN ? null : this.state.down,
      jobs: this.state.showJobs ? null : "0",
    });
  }

  // ---- viewport -----------------------------------------------------------------------------

  applyTransform() {
    const { x, y, k } = this.transform;
    this.viewport.setAttribute("transform", `translate(${x} ${y}) scale(${k})`);
    const tier = k < FAR_ZOOM ? "far" : k < MID_ZOOM ? "mid" : "near";
    const scale = tier === "mid" ? Math.min(MAX_LABEL_SCALE, Math.max(1, Math.round((MID_LABEL_PX / (TITLE_FONT * k)) * 5) / 5)) : 1;
    this.svg.classList.toggle("zoom-far", tier === "far");
    this.svg.classList.toggle("zoom-mid", tier === "mid");
    if (scale !== this.labelScale) {
      this.labelScale = scale;
      for (const item of this.shownNodes) this.label(item);
    }
    this.cull();
    this.updateMinimapView();
  }

  /** A node's title at the current label scale, vertically centred and cut to the node's width. */
  label(item) {
    const scale = this.labelScale;
    item.scale = scale;
    const title = item.element.querySelector(".node-title");
    const isJob = item.node.type === "JOB";
    const width = item.pos.width;
    const badge = item.element.querySelector(".node-badge") ? 26 : 0;
    const expander = item.element.querySelector(".node-expander") ? 26 : 0;
    if (scale === 1) {
      const left = isJob ? 34 : 38;
      title.style.fontSize = "";
      title.setAttribute("x", String(left));
      title.setAttribute("y", isJob ? "21.5" : "23");
      title.textContent = truncate(title.dataset.short, isJob ? JOB_CHARS : Math.floor((width - left - 8 - badge) / TITLE_CHAR));
      return;
    }
    const size = TITLE_FONT * scale;
    const header = isJob ? JOB_HEIGHT : DATASET_HEADER;
    title.style.fontSize = `${size}px`;
    title.setAttribute("x", "16");
    title.setAttribute("y", String(header / 2 + size * 0.36));
    // the badge (top right, drawn larger) and the columns button (bottom right) stay clear of it
    title.textContent = truncate(title.dataset.short, Math.max(3, Math.floor((width - 24 - Math.max(badge * 1.6, expander)) / (TITLE_CHAR * scale))));
  }

  zoomAt(factor, cx, cy) {
    const { x, y, k } = this.transform;
    const next = Math.max(ZOOM.min, Math.min(ZOOM.max, k * factor));
    this.transform = { k: next, x: cx - ((cx - x) * next) / k, y: cy - ((cy - y) * next) / k };
    this.applyTransform();
  }

  fit() {
    const box = this.size;
    const { width, height } = this.layout;
    const k = Math.max(ZOOM.min, Math.min(1, (box.width - 80) / Math.max(width, 1), (box.height - 80) / Math.max(height, 1)));
    this.transform = { k, x: (box.width - width * k) / 2, y: (box.height - height * k) / 2 };
    this.applyTransform();
  }

  /** The highlighted path as large as fits; when it cannot be legible, its origin at mid zoom. */
  framePath() {
    const items = [...this.path.fields.keys()].map((id) => this.items.get(id)).filter(Boolean);
    if (!items.length) return;
    const left = Math.min(...items.map((item) => item.pos.x));
    const top = Math.min(...items.map((item) => item.pos.y));
    const right = Math.max(...items.map((item) => item.pos.x + item.pos.width));
    const bottom = Math.max(...items.map((item) => item.pos.y + item.pos.height));
    const box = this.size;
    const k = Math.min(1, (box.width - 60) / (right - left), (box.height - 60) / (bottom - top));
    if (k >= FAR_ZOOM + 0.05) {
      this.transform = { k, x: box.width / 2 - ((left + right) / 2) * k, y: box.height / 2 - ((top + bottom) / 2) * k };
      this.applyTransform();
    } else this.centerOn(this.originDataset() || this.state.focus, { k: 0.5 });
  }

  originDataset() {
    const origin = this.path?.origin || "";
    return [...this.path.fields.keys()].find((id) => origin.startsWith(`datasetField:${id.slice("dataset:".length)}:`));
  }

  initialView() {
    if (this.path) {
      this.framePath();
      this.select(this.state.selected, { scroll: false });
      return;
    }
    const box = this.size;
    const { width, height } = this.layout;
    const fitK = Math.min((box.width - 80) / Math.max(width, 1), (box.height - 80) / Math.max(height, 1));
    if (fitK >= 0.62) this.fit();
    else {
      this.centerOn(this.state.focus, { k: NEAR_ZOOM });
      this.fillScreen();
    }
    this.select(this.state.selected, { scroll: false });
  }

  /** No empty screen beside a graph larger than the screen (a focus at the graph's edge is not
   * centred, more of its neighbourhood is shown); a dimension that fits is centred. */
  fillScreen() {
    const { x, y, k } = this.transform;
    const margin = 40;
    const place = (offset, span, room) =>
      span * k + 2 * margin <= room ? (room - span * k) / 2 : Math.min(margin, Math.max(room - margin - span * k, offset));
    this.transform = { k, x: place(x, this.layout.width, this.size.width), y: place(y, this.layout.height, this.size.height) };
    this.applyTransform();
  }

  centerOn(id, { k, keepZoom } = {}) {
    const item = this.items.get(id);
    if (!item) return;
    const box = this.size;
    const zoom = keepZoom ? this.transform.k : (k ?? this.transform.k);
    const cx = item.pos.x + item.pos.width / 2;
    const cy = item.pos.y + Math.min(item.pos.height, 200) / 2;
    this.transform = { k: zoom, x: box.width / 2 - cx * zoom, y: box.height / 2 - cy * zoom };
    this.applyTransform();
  }

  /** After the graph grew or shrank around it, the node is back where it was on screen. */
  keepInPlace(id, before) {
    const after = this.items.get(id)?.pos;
    if (!after) return;
    const { x, y, k } = this.transform;
    this.transform = { k, x: x + (before.x - after.x) * k, y: y + (before.y - after.y) * k };
    this.applyTransform();
  }

  keepVisible(id) {
    const item = this.items.get(id);
    if (!item) return;
    const box = this.size;
    const { x, y, k } = this.transform;
    const left = item.pos.x * k + x;
    const top = item.pos.y * k + y;
    const right = left + item.pos.width * k;
    const bottom = top + Math.min(item.pos.height, 300) * k;
    const margin = 40;
    if (left < margin || right > box.width - margin || top < margin || bottom > box.height - margin) this.centerOn(id, { keepZoom: true });
  }

  bindCanvas() {
    let drag = null;
    this.listen(this.svg, "pointerdown", (event) => {
      if (event.button !== 0 || event.target.closest(".node, .node-dot")) return;
      drag = { x: event.clientX, y: event.clientY, origin: { ...this.transform }, moved: false };
      this.svg.setPointerCapture(event.pointerId);
      this.svg.classList.add("dragging");
    });
    this.listen(this.svg, "pointermove", (event) => {
      if (!drag) return;
      const dx = event.clientX - drag.x;
      const dy = event.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 2) drag.moved = true;
      this.transform = { ...drag.origin, x: drag.origin.x + dx, y: drag.origin.y + dy };
      this.applyTransform();
    });
    const end = () => {
      drag = null;
      this.svg.classList.remove("dragging");
    };
    this.listen(this.svg, "pointerup", end);
    this.listen(this.svg, "pointercancel", end);
    this.listen(
      this.svg,
      "wheel",
      (event) => {
        event.preventDefault();
        const box = this.svg.getBoundingClientRect();
        const delta = event.deltaMode === 1 ? event.deltaY * 16 : event.deltaY;
        this.zoomAt(Math.exp(-delta * 0.0015), event.clientX - box.left, event.clientY - box.top);
      },
      { passive: false },
    );
    this.listen(this.svg, "click", (event) => {
      const row = event.target.closest(".column-row");
      const nodeElement = event.target.closest(".node, .node-dot");
      if (!nodeElement) return;
      const id = nodeElement.dataset.id;
      if (event.target.closest("[data-action=columns]")) {
        this.select(id, { scroll: false });
        this.toggleColumns(id);
      } else if (row) {
        this.select(id, { scroll: false });
        this.highlight(this.state.field === row.dataset.field ? null : row.dataset.field);
      } else this.select(id, { scroll: false });
      this.svg.focus({ preventScroll: true });
    });
    this.listen(this.svg, "dblclick", (event) => {
      const nodeElement = event.target.closest(".node, .node-dot");
      if (nodeElement && !event.target.closest(".column-row, [data-action]")) navigate(this.hrefFor(nodeElement.dataset.id));
    });
    this.listen(this.svg, "keydown", (event) => this.onKey(event));
    this.listen(this.minimap, "pointerdown", (event) => this.minimapJump(event));
    this.resizeObserver = new ResizeObserver(() => {
      this.measure();
      this.updateMinimapView();
    });
    this.resizeObserver.observe(this.svg);
  }

  minimapJump(event) {
    const point = this.minimap.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    const local = point.matrixTransform(this.minimap.getScreenCTM().inverse());
    const box = this.size;
    const { k } = this.transform;
    this.transform = { k, x: box.width / 2 - local.x * k, y: box.height / 2 - local.y * k };
    this.applyTransform();
  }

  onKey(event) {
    if (event.metaKey || event.ctrlKey || event.altKey) return;
    const box = this.size;
    const selected = this.state.selected;
    const handled = () => event.preventDefault();
    if (event.shiftKey && event.key.startsWith("Arrow")) {
      const step = 80;
      const delta = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] }[event.key];
      this.transform = { ...this.transform, x: this.transform.x + delta[0], y: this.transform.y + delta[1] };
      this.applyTransform();
      return handled();
    }
    switch (event.key) {
      case "ArrowRight":
      case "ArrowLeft": {
        const next = this.closest(this.neighbours(selected, event.key === "ArrowRight" ? "down" : "up"), selected);
        if (next) this.select(next);
        return handled();
      }
      case "ArrowUp":
      case "ArrowDown": {
        const next = this.inLayer(selected, event.key === "ArrowDown" ? 1 : -1);
        if (next) this.select(next);
        return handled();
      }
      case "Enter":
        if (selected !== this.state.focus) navigate(this.hrefFor(selected));
        return handled();
      case "o": {
        const node = this.graph.nodes.get(selected);
        if (node) navigate(node.type === "JOB" ? paths.job(node.data.namespace, node.data.name) : paths.dataset(node.data.namespace, node.data.name));
        return handled();
      }
      case "c":
        this.toggleColumns(selected);
        return handled();
      case "u":
        this.changeLevel("up", 1);
        return handled();
      case "U":
        this.changeLevel("up", -1);
        return handled();
      case "d":
        this.changeLevel("down", 1);
        return handled();
      case "D":
        this.changeLevel("down", -1);
        return handled();
      case "j":
        this.setJobs(!this.state.showJobs);
        return handled();
      case "f":
        this.fit();
        return handled();
      case "0":
        this.centerOn(selected, { k: 1 });
        return handled();
      case "+":
      case "=":
        this.zoomAt(1.25, box.width / 2, box.height / 2);
        return handled();
      case "-":
        this.zoomAt(0.8, box.width / 2, box.height / 2);
        return handled();
      case "Escape":
        if (this.path) this.highlight(null);
        return handled();
      default:
    }
  }

  closest(candidates, from) {
    const origin = this.items.get(from);
    if (!origin || !candidates.length) return null;
    const centre = (item) => item.pos.y + Math.min(item.pos.height, DATASET_HEADER) / 2;
    return candidates.reduce((best, id) => (Math.abs(centre(this.items.get(id)) - centre(origin)) < Math.abs(centre(this.items.get(best)) - centre(origin)) ? id : best));
  }

  inLayer(from, step) {
    const origin = this.items.get(from);
    if (!origin) return null;
    const sameLayer = [...this.items.entries()].filter(([, item]) => item.pos.layer === origin.pos.layer).sort((a, b) => a[1].pos.y - b[1].pos.y);
    const index = sameLayer.findIndex(([id]) => id === from);
    return sameLayer[index + step]?.[0] || null;
  }
}

/** A column's name and type, cut so that they fit the row side by side; the name comes first. */
function columnLabels(field, width) {
  const room = width - 16 - 14 - 10; // left padding, right padding, gap
  const name = String(field.name);
  let type = field.type ? truncate(String(field.type).toLowerCase(), 12) : "";
  if (name.length * COLUMN_CHAR + type.length * TYPE_CHAR > room && type.length > 6) {
    type = truncate(type, Math.max(6, Math.floor((room - name.length * COLUMN_CHAR) / TYPE_CHAR)));
  }
  return [truncate(name, Math.floor((room - type.length * TYPE_CHAR) / COLUMN_CHAR)), type];
}

/** Job pills are as wide as their (short) name. */
function jobWidth(node) {
  const text = Math.min(JOB_CHARS, shortName(node.data.name || node.id).length);
  return Math.round(34 + text * JOB_CHAR_WIDTH + 30);
}

const GLYPHS = {
  dataset: ["M2 3.5C2 2.7 4.7 2 8 2s6 .7 6 1.5v9c0 .8-2.7 1.5-6 1.5s-6-.7-6-1.5z", "M2 3.5c0 .8 2.7 1.5 6 1.5s6-.7 6-1.5", "M2 8c0 .8 2.7 1.5 6 1.5s6-.7 6-1.5"],
  job: ["M3 3h10v10H3z", "M6.5 5.5l4 2.5-4 2.5z"],
};

/** An icon drawn once in <defs> and reused: two elements per node instead of five. */
function nodeIcon(kind, x, y) {
  return [
    s("rect", { class: "node-icon-bg", x: x - 3, y: y - 3, width: 22, height: 22, rx: 6 }),
    s("use", { class: "node-icon", href: `#glyph-${kind}`, x, y, width: 16, height: 16 }),
  ];
}

/** A smooth path through points, leaving and entering each one horizontally. */
function curve(points) {
  let d = `M${points[0].x.toFixed(1)} ${points[0].y.toFixed(1)}`;
  for (let i = 1; i < points.length; i += 1) {
    const a = points[i - 1];
    const b = points[i];
    const dx = Math.max(24, (b.x - a.x) / 2);
    d += ` C${(a.x + dx).toFixed(1)} ${a.y.toFixed(1)} ${(b.x - dx).toFixed(1)} ${b.y.toFixed(1)} ${b.x.toFixed(1)} ${b.y.toFixed(1)}`;
  }
  return d;
}

function markers() {
  const marker = (id) =>
    s("marker", { id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse", class: `marker ${id}` }, s("path", { d: "M0 1 L9 5 L0 9 z" }));
  const glyph = (kind) => s("symbol", { id: `glyph-${kind}`, viewBox: "0 0 16 16" }, GLYPHS[kind].map((d) => s("path", { d })));
  return s("defs", {}, marker("arrow"), marker("arrow-direct"), marker("arrow-indirect"), glyph("dataset"), glyph("job"));
}

function legend() {
  const line = (cls) => s("svg", { class: "legend-line", viewBox: "0 0 36 10", "aria-hidden": "true" }, s("path", { class: cls, d: "M2 5H34" }));
  const dot = (tone) => h("span", { class: ["legend-dot", `tone-${tone}`], "aria-hidden": "true" });
  return h(
    "div",
    { class: "legend", "aria-label": "Legend" },
    h("span", {}, dot("red"), "Open incident"),
    h("span", {}, dot("amber"), "Stale"),
    h("span", {}, dot("green"), "Healthy"),
    h("span", {}, line("column-edge direct"), "Direct"),
    h("span", {}, line("column-edge indirect"), "Indirect"),
  );
}
