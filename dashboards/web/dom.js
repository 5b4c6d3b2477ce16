// Building DOM and SVG without innerHTML: text is always text, never markup.

const SVG_NS = "http://www.w3.org/2000/svg";

function build(element, attrs, children) {
  if (attrs) {
    for (const name in attrs) {
      const value = attrs[name];
      if (value === undefined || value === null || value === false) continue;
      if (typeof value === "function" && name.startsWith("on")) element.addEventListener(name.slice(2), value);
      else if (name === "text") element.textContent = value;
      else if (name === "class" && Array.isArray(value)) element.setAttribute("class", value.filter(Boolean).join(" "));
      else element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else if (typeof child === "string" || typeof child === "number") element.append(String(child));
    else element.append(child);
  }
  return element;
}

/** An HTML element: h("a", {href: "/x", class: "link"}, "text", otherNode). */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** An SVG element. */
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function clear(element) {
  element.replaceChildren();
  return element;
}

/** A small icon from the sprite-free set below, as inline SVG. */
export function icon(name, extraClass) {
  const paths = ICONS[name] || ICONS.dot;
  return s(
    "svg",
    { class: ["icon", extraClass], viewBox: "0 0 16 16", "aria-hidden": "true", focusable: "false" },
    paths.map((d) => s("path", { d })),
  );
}

const ICONS = {
  dataset: ["M2 3.5C2 2.7 4.7 2 8 2s6 .7 6 1.5v9c0 .8-2.7 1.5-6 1.5s-6-.7-6-1.5z", "M2 3.5c0 .8 2.7 1.5 6 1.5s6-.7 6-1.5", "M2 8c0 .8 2.7 1.5 6 1.5s6-.7 6-1.5"],
  job: ["M3 3h10v10H3z", "M6 6l4 2-4 2z"],
  column: ["M3 2h10v12H3z", "M6.5 2v12", "M3 6h10"],
  incident: ["M8 2l6.5 11.5h-13z", "M8 6.5v3", "M8 11.6v.1"],
  search: ["M7 2.5a4.5 4.5 0 1 1 0 9a4.5 4.5 0 0 1 0-9z", "M10.5 10.5L14 14"],
  lineage: ["M2 4h4v3H2z", "M10 2h4v3h-4z", "M10 10h4v3h-4z", "M6 5.5h2v-2h2", "M8 5.5v6h2"],
  clock: ["M8 2a6 6 0 1 1 0 12A6 6 0 0 1 8 2z", "M8 4.5V8l2.5 1.5"],
  arrowLeft: ["M13 8H3", "M7 4L3 8l4 4"],
  arrowRight: ["M3 8h10", "M9 4l4 4-4 4"],
  plus: ["M8 3v10", "M3 8h10"],
  minus: ["M3 8h10"],
  fit: ["M2 6V2h4", "M10 2h4v4", "M14 10v4h-4", "M6 14H2v-4"],
  close: ["M4 4l8 8", "M12 4l-8 8"],
  dot: ["M8 6a2 2 0 1 1 0 4a2 2 0 0 1 0-4z"],
  key: ["M5.5 6.5a3 3 0 1 1 0 .1z", "M8.3 8.3L14 14", "M12 12l1.5-1.5"],
};
