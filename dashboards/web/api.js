// The HTTP API the UI reads: Marquez-compatible reads, Observer's lineage extensions, incidents and
// the UI's own small read router (/api/v1/ui/...). Every function returns parsed JSON.

const BASE = "/api/v1";
const TOKEN_KEY = "observer.token";

class ApiError extends Error {
  constructor(status, message, url) {
    super(message);
    this.status = status;
    this.url = url;
  }

  get missing() {
    return this.status === 404;
  }
}

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return "";
  }
}

export function setToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: the token lives for this page only
  }
  sessionToken = token;
}

let sessionToken = getToken();

function url(path, params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value === undefined || value === null || value === "") continue;
    for (const item of Array.isArray(value) ? value : [value]) query.append(name, String(item));
  }
  const text = query.toString();
  return `${BASE}${path}${text ? `?${text}` : ""}`;
}

async function get(path, params, { signal } = {}) {
  const target = url(path, params);
  const headers = { Accept: "application/json" };
  if (sessionToken) headers.Authorization = `Bearer ${sessionToken}`;
  let response;
  try {
    response = await fetch(target, { headers, signal, credentials: "same-origin" });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "the server cannot be reached", target);
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body && body.message) message = body.message;
    } catch {
      // not JSON: keep the status line
    }
    if (response.status === 401) window.dispatchEvent(new CustomEvent("observer:unauthorized"));
    throw new ApiError(response.status, message, target);
  }
  return response.json();
}

const segment = encodeURIComponent;

export const nodeId = {
  dataset: (namespace, name) => `dataset:${namespace}:${name}`,
  job: (namespace, name) => `job:${namespace}:${name}`,
  field: (namespace, name, field) => `datasetField:${namespace}:${name}:${field}`,
};

export const api = {
  // Marquez-compatible reads
  search: (q, { limit = 20, filter } = {}, options) => get("/search", { q, limit, filter }, options),
  namespaces: (options) => get("/namespaces", {}, options),
  dataset: (namespace, name, options) =>
    get(`/namespaces/${segment(namespace)}/datasets/${segment(name)}`, {}, options),
  job: (namespace, name, options) => get(`/namespaces/${segment(namespace)}/jobs/${segment(name)}`, {}, options),
  jobRuns: (namespace, name, { limit = 20 } = {}, options) =>
    get(`/namespaces/${segment(namespace)}/jobs/${segment(name)}/runs`, { limit }, options),
  // lineage graph (Marquez shape, plus Observer's direction and maxNodes)
  lineage: (id, { depth, direction, maxNodes } = {}, options) =>
    get("/lineage", { nodeId: id, depth, direction, maxNodes }, options),
  columnLineage: (id, { depth = 20, withDownstream = true } = {}, options) =>
    get("/column-lineage", { nodeId: id, depth, withDownstream }, options),
  impact: (id, options) => get("/impact", { nodeId: id }, options),
  // incidents
  incidents: (params = {}, options) => get("/incidents", params, options),
  incident: (id, options) => get(`/incidents/${segment(id)}`, {}, options),
  // the UI's own reads (api/routes/ui_data.py)
  overview: (options) => get("/ui/overview", {}, options),
  status: (options) => get("/ui/status", {}, options),
  columns: (q, { limit = 20 } = {}, options) => get("/ui/columns", { q, limit }, options),
  datasetHealth: (namespace, name, options) => get("/ui/dataset", { namespace, name }, options),
  series: (namespace, name, metric, column = "", options) =>
    get("/ui/series", { namespace, name, metric, column }, options),
};

/** Resolves to the value, or to `fallback` when the endpoint is missing or failing. */
/** For a load nobody awaits (a card filling in, a click's fetch): a navigation that cancels it is
 * not an error, anything else still is. */
export function ignoreAbort(error) {
  if (error?.name !== "AbortError") throw error;
}

export async function optional(promise, fallback = null) {
  try {
    return await promise;
  } catch (error) {
    if (error.name === "AbortError") throw error;
    return fallback;
  }
}
