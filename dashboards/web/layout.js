// Layered DAG layout (Sugiyama style), upstream on the left, downstream on the right.
//
// 1. Cycles are broken by reversing the back edges of a depth-first search.
// 2. Layers by longest path from the sources; sources then move right next to their first consumer.
// 3. Edges spanning several layers get dummy nodes, so they take part in ordering and bend around nodes.
// 4. Crossings are reduced with barycentric sweeps (down and up), keeping the best ordering seen.
// 5. Vertical positions: each node is pulled towards its neighbours' centres, then overlaps are removed
//    with an order-preserving least-squares fit (pool adjacent violators), a few rounds each way.
//
// Pure: no DOM. Input nodes {id, width, height}; edges {source, target} (source is upstream).

const DEFAULTS = {
  layerGap: 76, // horizontal space between layers
  nodeGap: 16, // vertical space between nodes of a layer
  dummyHeight: 6,
  sweeps: 12,
  placementRounds: 4,
};

export function layeredLayout(nodes, edges, options = {}) {
  const started = now();
  const opts = { ...DEFAULTS, ...options };
  const index = new Map(nodes.map((node, i) => [node.id, i]));
  const realCount = nodes.length;

  const pairs = uniqueEdges(edges, index);
  const reversed = breakCycles(realCount, pairs);
  const layer = assignLayers(realCount, pairs);

  // Working graph: real nodes first, then dummies; adjacency between consecutive layers only.
  const width = nodes.map((node) => node.width);
  const height = nodes.map((node) => node.height);
  const layerOf = layer.slice();
  const up = nodes.map(() => []);
  const down = nodes.map(() => []);
  const chains = []; // per edge: the vertex chain from source to target
  for (const [s, t] of pairs) {
    const chain = [s];
    let previous = s;
    for (let l = layerOf[s] + 1; l < layerOf[t]; l += 1) {
      const dummy = width.length;
      width.push(0);
      height.push(opts.dummyHeight);
      layerOf.push(l);
      up.push([]);
      down.push([]);
      down[previous].push(dummy);
      up[dummy].push(previous);
      chain.push(dummy);
      previous = dummy;
    }
    down[previous].push(t);
    up[t].push(previous);
    chain.push(t);
    chains.push(chain);
  }

  let layerCount = 0;
  for (const l of layerOf) layerCount = Math.max(layerCount, l + 1);
  const layers = initialOrder(layerOf, up, down, layerCount, realCount);
  const crossings = reduceCrossings(layers, up, down, opts.sweeps);
  const y = placeVertically(layers, up, down, height, realCount, opts);

  // Horizontal position: every layer is as wide as its widest node.
  const layerWidth = new Array(layerCount).fill(0);
  for (let v = 0; v < realCount; v += 1) layerWidth[layerOf[v]] = Math.max(layerWidth[layerOf[v]], width[v]);
  const layerX = [];
  let x = 0;
  for (let l = 0; l < layerCount; l += 1) {
    layerX.push(x);
    x += layerWidth[l] + opts.layerGap;
  }

  const positions = new Map();
  let maxY = 0;
  for (let v = 0; v < realCount; v += 1) {
    const left = layerX[layerOf[v]] + (layerWidth[layerOf[v]] - width[v]) / 2;
    positions.set(nodes[v].id, { x: left, y: y[v], width: width[v], height: height[v], layer: layerOf[v] });
    maxY = Math.max(maxY, y[v] + height[v]);
  }
  const routed = pairs.map(([s, t], i) => {
    const bends = chains[i].slice(1, -1).map((d) => ({
      x: layerX[layerOf[d]] + layerWidth[layerOf[d]] / 2,
      y: y[d] + opts.dummyHeight / 2,
    }));
    const flipped = reversed[i];
    return {
      source: nodes[flipped ? t : s].id,
      target: nodes[flipped ? s : t].id,
      bends: flipped ? bends.reverse() : bends,
      reversed: flipped,
    };
  });
  return {
    positions,
    edges: routed,
    width: Math.max(0, x - opts.layerGap),
    height: maxY,
    stats: {
      nodes: realCount,
      edges: pairs.length,
      layers: layerCount,
      dummies: width.length - realCount,
      crossings,
      ms: now() - started,
    },
  };
}

function now() {
  return typeof performance !== "undefined" ? performance.now() : Date.now();
}

function uniqueEdges(edges, index) {
  const seen = new Set();
  const pairs = [];
  for (const edge of edges) {
    const s = index.get(edge.source);
    const t = index.get(edge.target);
    if (s === undefined || t === undefined || s === t) continue;
    const key = s * 1e7 + t;
    if (seen.has(key)) continue;
    seen.add(key);
    pairs.push([s, t]);
  }
  return pairs;
}

// Reverses (in place) the edges that close a cycle in an iterative depth-first search.
function breakCycles(count, pairs) {
  const out = Array.from({ length: count }, () => []);
  pairs.forEach(([s, t], i) => out[s].push(i));
  const state = new Uint8Array(count); // 0 new, 1 on stack, 2 done
  const reversed = new Array(pairs.length).fill(false);
  for (let root = 0; root < count; root += 1) {
    if (state[root]) continue;
    const stack = [[root, 0]];
    state[root] = 1;
    while (stack.length) {
      const frame = stack[stack.length - 1];
      const [v, next] = frame;
      if (next >= out[v].length) {
        state[v] = 2;
        stack.pop();
        continue;
      }
      frame[1] += 1;
      const edge = out[v][next];
      const t = pairs[edge][1];
      if (state[t] === 1) reversed[edge] = true;
      else if (state[t] === 0) {
        state[t] = 1;
        stack.push([t, 0]);
      }
    }
  }
  pairs.forEach((pair, i) => {
    if (reversed[i]) pairs[i] = [pair[1], pair[0]];
  });
  return reversed;
}

function assignLayers(count, pairs) {
  const out = Array.from({ length: count }, () => []);
  const indegree = new Int32Array(count);
  for (const [s, t] of pairs) {
    out[s].push(t);
    indegree[t] += 1;
  }
  const hasInput = Array.from(indegree, (d) => d > 0);
  const layer = new Array(count).fill(0);
  const order = [];
  const queue = [];
  for (let v = 0; v < count; v += 1) if (indegree[v] === 0) queue.push(v);
  for (let head = 0; head < queue.length; head += 1) {
    const v = queue[head];
    order.push(v);
    for (const t of out[v]) {
      layer[t] = Math.max(layer[t], layer[v] + 1);
      indegree[t] -= 1;
      if (indegree[t] === 0) queue.push(t);
    }
  }
  // A source sits right before its earliest consumer instead of at the far left.
  for (let i = order.length - 1; i >= 0; i -= 1) {
    const v = order[i];
    if (hasInput[v] || !out[v].length) continue;
    layer[v] = Math.min(...out[v].map((t) => layer[t])) - 1;
  }
  return layer;
}

// Depth-first order from the sources gives related nodes neighbouring slots to start from.
function initialOrder(layerOf, up, down, layerCount, realCount) {
  const layers = Array.from({ length: layerCount }, () => []);
  const seen = new Uint8Array(layerOf.length);
  const visit = (root) => {
    const stack = [root];
    while (stack.length) {
      const v = stack.pop();
      if (seen[v]) continue;
      seen[v] = 1;
      layers[layerOf[v]].push(v);
      for (let i = down[v].length - 1; i >= 0; i -= 1) if (!seen[down[v][i]]) stack.push(down[v][i]);
    }
  };
  for (let v = 0; v < realCount; v += 1) if (!up[v].length) visit(v);
  for (let v = 0; v < layerOf.length; v += 1) if (!seen[v]) visit(v);
  return layers;
}

function reduceCrossings(layers, up, down, sweeps) {
  const position = new Float64Array(up.length);
  const key = new Float64Array(up.length);
  layers.forEach((layer) => layer.forEach((v, i) => (position[v] = i)));
  const counter = crossingCounter(layers, down);
  let best = layers.map((layer) => layer.slice());
  let bestCrossings = counter(position);
  let stale = 0;
  for (let sweep = 0; sweep < sweeps && bestCrossings > 0 && stale < 4; sweep += 1) {
    const downward = sweep % 2 === 0;
    if (downward) for (let l = 1; l < layers.length; l += 1) sortByBarycenter(layers[l], up, position, key);
    else for (let l = layers.length - 2; l >= 0; l -= 1) sortByBarycenter(layers[l], down, position, key);
    const crossings = counter(position);
    if (crossings < bestCrossings) {
      bestCrossings = crossings;
      best = layers.map((layer) => layer.slice());
      stale = 0;
    } else stale += 1;
  }
  best.forEach((layer, l) => (layers[l] = layer));
  return bestCrossings;
}

function sortByBarycenter(layer, neighbours, position, key) {
  for (const v of layer) {
    const adjacent = neighbours[v];
    if (!adjacent.length) {
      key[v] = position[v];
      continue;
    }
    let sum = 0;
    for (const u of adjacent) sum += position[u];
    key[v] = sum / adjacent.length;
  }
  layer.sort((a, b) => key[a] - key[b] || position[a] - position[b]);
  for (let i = 0; i < layer.length; i += 1) position[layer[i]] = i;
}

// Crossings between each pair of consecutive layers, counted with a Fenwick tree (E log V).
// Buffers are allocated once and reused by every count.
function crossingCounter(layers, down) {
  let widest = 1;
  let edges = 1;
  for (const layer of layers) {
    widest = Math.max(widest, layer.length + 1);
    let count = 0;
    for (const v of layer) count += down[v].length;
    edges = Math.max(edges, count);
  }
  const tree = new Int32Array(widest);
  const ends = new Int32Array(edges);
  return (position) => {
    let total = 0;
    for (let l = 0; l + 1 < layers.length; l += 1) {
      let n = 0;
      for (const v of layers[l]) {
        const first = n;
        for (const t of down[v]) {
          // insertion sort of this vertex's few edge ends
          let i = n;
          const end = position[t];
          while (i > first && ends[i - 1] > end) {
            ends[i] = ends[i - 1];
            i -= 1;
          }
          ends[i] = end;
          n += 1;
        }
      }
      const size = layers[l + 1].length;
      tree.fill(0, 0, size + 1);
      for (let k = 0; k < n; k += 1) {
        // edges already seen that end strictly below this one cross it
        let atOrBefore = 0;
        for (let i = ends[k] + 1; i > 0; i -= i & -i) atOrBefore += tree[i];
        total += k - atOrBefore;
        for (let i = ends[k] + 1; i <= size; i += i & -i) tree[i] += 1;
      }
    }
    return total;
  };
}

function placeVertically(layers, up, down, height, realCount, opts) {
  const y = new Float64Array(height.length);
  for (const layer of layers) {
    let cursor = 0;
    for (const v of layer) {
      y[v] = cursor;
      cursor += height[v] + opts.nodeGap;
    }
  }
  // Long edges want to be straight: dummies pull harder than real nodes.
  const weightOf = (v) => (v >= realCount ? 4 : 1);
  const align = (layer, neighbours) => {
    const desired = layer.map((v) => {
      const adjacent = neighbours[v];
      if (!adjacent.length) return y[v];
      let sum = 0;
      let weight = 0;
      for (const u of adjacent) {
        const w = weightOf(u) * weightOf(v);
        sum += (y[u] + height[u] / 2) * w;
        weight += w;
      }
      return sum / weight - height[v] / 2;
    });
    const placed = isotonicWithGaps(desired, layer.map((v) => height[v]), opts.nodeGap, layer.map(weightOf));
    layer.forEach((v, i) => (y[v] = placed[i]));
  };
  for (let round = 0; round < opts.placementRounds; round += 1) {
    for (let l = 1; l < layers.length; l += 1) align(layers[l], up);
    for (let l = layers.length - 2; l >= 0; l -= 1) align(layers[l], down);
  }
  let top = Infinity;
  for (let v = 0; v < y.length; v += 1) top = Math.min(top, y[v]);
  if (Number.isFinite(top)) for (let v = 0; v < y.length; v += 1) y[v] -= top;
  return y;
}

// Closest positions (weighted least squares) to `desired` that keep the order and the gaps:
// y[i + 1] >= y[i] + height[i] + gap. Shifting by the cumulative offsets turns the constraint into
// plain monotonicity, which pool-adjacent-violators solves exactly in linear time.
function isotonicWithGaps(desired, heights, gap, weights) {
  const n = desired.length;
  const offset = new Float64Array(n);
  for (let i = 1; i < n; i += 1) offset[i] = offset[i - 1] + heights[i - 1] + gap;
  const blockValue = [];
  const blockWeight = [];
  const blockSize = [];
  for (let i = 0; i < n; i += 1) {
    let value = desired[i] - offset[i];
    let weight = weights ? weights[i] : 1;
    let size = 1;
    while (blockValue.length && blockValue[blockValue.length - 1] > value) {
      const w = blockWeight.pop();
      value = (blockValue.pop() * w + value * weight) / (w + weight);
      weight += w;
      size += blockSize.pop();
    }
    blockValue.push(value);
    blockWeight.push(weight);
    blockSize.push(size);
  }
  const result = new Array(n);
  let i = 0;
  blockValue.forEach((value, b) => {
    for (let k = 0; k < blockSize[b]; k += 1, i += 1) result[i] = value + offset[i];
  });
  return result;
}
