// Client-side routes over the History API. The server answers each of these paths with the shell
// (api/routes/web.py SHELL_PATHS), so every page has a real, shareable URL.

const enc = encodeURIComponent;

const ROUTES = [
  { name: "overview", pattern: [] },
  { name: "search", pattern: ["search"] },
  { name: "lineage", pattern: ["lineage"] },
  { name: "incidents", pattern: ["incidents"] },
  { name: "incident", pattern: ["incidents", ":id"] },
  { name: "dataset", pattern: ["datasets", ":namespace", ":name"] },
  { name: "job", pattern: ["jobs", ":namespace", ":name"] },
];

export const paths = {
  overview: () => "/",
  search: (q) => `/search?${new URLSearchParams({ q })}`,
  dataset: (namespace, name) => `/datasets/${enc(namespace)}/${enc(name)}`,
  job: (namespace, name) => `/jobs/${enc(namespace)}/${enc(name)}`,
  incidents: () => "/incidents",
  incident: (id) => `/incidents/${enc(id)}`,
  lineage(node, options = {}) {
    const query = new URLSearchParams({ node });
    for (const [key, value] of Object.entries(options)) {
      if (value !== undefined && value !== null && value !== "") query.set(key, String(value));
    }
    return `/lineage?${query}`;
  },
};

export function matchRoute(pathname) {
  const parts = pathname.split("/").filter(Boolean);
  for (const route of ROUTES) {
    if (route.pattern.length !== parts.length) continue;
    const params = {};
    const ok = route.pattern.every((piece, i) => {
      if (piece.startsWith(":")) {
        try {
          params[piece.slice(1)] = decodeURIComponent(parts[i]);
        } catch {
          return false;
        }
        return true;
      }
      return piece === parts[i];
    });
    if (ok) return { name: route.name, params };
  }
  return { name: "notFound", params: {} };
}

let onChange = () => {};

export function navigate(href, { replace = false } = {}) {
  const target = new URL(href, location.href);
  if (target.href === location.href && !replace) return;
  if (replace) history.replaceState(null, "", target);
  else history.pushState(null, "", target);
  onChange({ restoreScroll: false });
}

/** Changes the query string without a new history entry or re-rendering (view state). */
export function updateQuery(values) {
  const target = new URL(location.href);
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined || value === null || value === "") target.searchParams.delete(key);
    else target.searchParams.set(key, String(value));
  }
  history.replaceState(null, "", target);
}

export function startRouter(render) {
  onChange = render;
  window.addEventListener("popstate", () => render({ restoreScroll: true }));
  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = event.target.closest("a[href]");
    if (!link || link.target || link.hasAttribute("download")) return;
    const target = new URL(link.href, location.href);
    if (target.origin !== location.origin || target.pathname.startsWith("/api/")) return;
    if (matchRoute(target.pathname).name === "notFound") return;
    event.preventDefault();
    navigate(target.href);
  });
  render({ restoreScroll: false });
}
