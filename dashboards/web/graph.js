// The lineage explorer's model: nodes and edges merged from Marquez-shaped responses
// ({"graph": [{id, type, data, inEdges, outEdges}]}), and the column paths from /column-lineage.

export class LineageGraph {
  constructor() {
    this.nodes = new Map(); // id -> {id, type: "DATASET" | "JOB", data}
    this.edges = new Map(); // "origin\u0000destination" -> {source, target}
    this.truncated = false;
  }

  merge(response) {
    for (const node of response?.graph || []) {
      const type = String(node.type || "").toUpperCase();
      if (type !== "DATASET" && type !== "JOB") continue;
      const known = this.nodes.get(node.id);
      if (!known || !known.data || Object.keys(known.data).length < Object.keys(node.data || {}).length) {
        this.nodes.set(node.id, { id: node.id, type, data: node.data || {} });
      }
      for (const edge of [...(node.inEdges || []), ...(node.outEdges || [])]) this.addEdge(edge.origin, edge.destination);
    }
    if (response?.truncated) this.truncated = true;
    return this;
  }

  addEdge(source, target) {
    if (source === target) return;
    this.edges.set(`${source}\u0000${target}`, { source, target });
  }

  /** A dataset known only from column lineage: enough to draw it. */
  ensureDataset(id, namespace, name) {
    if (!this.nodes.has(id)) this.nodes.set(id, { id, type: "DATASET", data: { namespace, name, fields: [] }, partial: true });
  }

  /** Drops edges to nodes the responses mentioned but did not include. */
  prune() {
    for (const [key, edge] of this.edges) {
      if (!this.nodes.has(edge.source) || !this.nodes.has(edge.target)) this.edges.delete(key);
    }
    return this;
  }

  /** Nodes and edges to draw; without jobs, each job becomes edges from its inputs to its outputs. */
  view({ showJobs }) {
    if (showJobs) return { nodes: [...this.nodes.values()], edges: [...this.edges.values()] };
    const nodes = [...this.nodes.values()].filter((node) => node.type === "DATASET");
    const inputs = new Map();
    const outputs = new Map();
    const direct = new Map();
    for (const edge of this.edges.values()) {
      const sourceType = this.nodes.get(edge.source)?.type;
      const targetType = this.nodes.get(edge.target)?.type;
      if (sourceType === "JOB" && targetType === "DATASET") push(outputs, edge.source, edge.target);
      else if (sourceType === "DATASET" && targetType === "JOB") push(inputs, edge.target, edge.source);
      else if (sourceType === "DATASET" && targetType === "DATASET") direct.set(`${edge.source}\u0000${edge.target}`, { ...edge });
    }
    for (const [job, sources] of inputs) {
      for (const source of sources) {
        for (const target of outputs.get(job) || []) {
          if (source !== target) direct.set(`${source}\u0000${target}`, { source, target, via: job });
        }
      }
    }
    return { nodes, edges: [...direct.values()] };
  }
}

function push(map, key, value) {
  if (!map.has(key)) map.set(key, []);
  map.get(key).push(value);
}

/** The dataset node id of a DATASET_FIELD node's data. */
function datasetOfField(data) {
  return `dataset:${data.namespace}:${data.dataset}`;
}

function transformationType(entry) {
  const listed = entry?.transformations?.[0]?.type;
  const type = String(listed || entry?.transformationType || "").toUpperCase();
  return type === "INDIRECT" ? "INDIRECT" : "DIRECT";
}

function transformationLabel(entry) {
  const first = entry?.transformations?.[0];
  if (first) return [first.type, first.subtype].filter(Boolean).join(" · ");
  return entry?.transformationDescription || entry?.transformationType || "";
}

/**
 * Column paths from a /column-lineage response: the fields on them (by dataset) and the
 * field-to-field edges with their transformation type (DIRECT or INDIRECT).
 */
export function columnPaths(response) {
  const fields = new Map(); // dataset id -> Set(field)
  const datasets = new Map(); // dataset id -> {namespace, name}
  const byId = new Map();
  const edges = new Map();
  for (const node of response?.graph || []) {
    if (String(node.type).toUpperCase() !== "DATASET_FIELD" || !node.data) continue;
    byId.set(node.id, node.data);
  }
  const note = (data) => {
    const dataset = datasetOfField(data);
    datasets.set(dataset, { namespace: data.namespace, name: data.dataset });
    if (!fields.has(dataset)) fields.set(dataset, new Set());
    fields.get(dataset).add(data.field);
    return dataset;
  };
  for (const data of byId.values()) note(data);
  const addEdge = (sourceData, targetData, entry) => {
    const source = { dataset: note(sourceData), field: sourceData.field };
    const target = { dataset: note(targetData), field: targetData.field };
    const key = `${source.dataset}\u0000${source.field}\u0000${target.dataset}\u0000${target.field}`;
    edges.set(key, { source, target, type: transformationType(entry), label: transformationLabel(entry) });
  };
  for (const data of byId.values()) {
    // inputFields carry the transformation of each input of this field
    for (const input of data.inputFields || []) {
      addEdge({ namespace: input.namespace, dataset: input.dataset ?? input.name, field: input.field }, data, input);
    }
  }
  // Edges the server lists without a matching inputFields entry (kept as DIRECT).
  for (const node of response?.graph || []) {
    for (const edge of node.outEdges || []) {
      const source = byId.get(edge.origin);
      const target = byId.get(edge.destination);
      if (!source || !target) continue;
      const key = `${datasetOfField(source)}\u0000${source.field}\u0000${datasetOfField(target)}\u0000${target.field}`;
      if (!edges.has(key)) addEdge(source, target, null);
    }
  }
  return { fields, datasets, edges: [...edges.values()] };
}
