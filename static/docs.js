// Renders the OpenAPI document from /json. Everything is built with DOM APIs (no innerHTML with
// document text), so descriptions cannot inject markup, and the page works under a strict CSP.
"use strict";

const METHODS = ["get", "post", "put", "patch", "delete"];

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value; else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function resolve(spec, schema) {
  let seen = 0;
  while (schema && schema.$ref && seen++ < 20) {
    const name = schema.$ref.split("/").pop();
    schema = (spec.components && spec.components.schemas && spec.components.schemas[name]) || {};
  }
  return schema || {};
}

// A compact example-like rendering of a schema: field names with their types.
function sketch(spec, schema, depth) {
  schema = resolve(spec, schema);
  if (depth > 4) return "…";
  if (schema.allOf) return sketch(spec, schema.allOf[0], depth);
  if (schema.anyOf || schema.oneOf) {
    return (schema.anyOf || schema.oneOf).map((s) => sketch(spec, s, depth)).join(" | ");
  }
  if (schema.type === "array") return [sketch(spec, schema.items || {}, depth + 1)];
  if (schema.type === "object" || schema.properties) {
    const out = {};
    const required = new Set(schema.required || []);
    for (const [key, prop] of Object.entries(schema.properties || {})) {
      out[key + (required.has(key) ? "" : "?")] = sketch(spec, prop, depth + 1);
    }
    return out;
  }
  let type = schema.type || "any";
  if (schema.format) type += " (" + schema.format + ")";
  if (schema.enum) type = schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  return type;
}

function schemaBlock(spec, content) {
  if (!content) return null;
  const [mime, media] = Object.entries(content)[0];
  if (!media.schema) return el("p", { class: "muted" }, mime);
  return el("div", {}, el("span", { class: "muted" }, mime),
    el("pre", {}, JSON.stringify(sketch(spec, media.schema, 0), null, 2)));
}

function operation(spec, path, method, op) {
  const secured = (op.security || spec.security || []).length > 0;
  const params = op.parameters || [];
  const body = el("div", { class: "body" });
  if (op.description) body.append(el("p", {}, op.description));
  if (params.length) {
    body.append(el("h4", {}, "Parameters"), el("table", {},
      el("tr", {}, el("th", {}, "name"), el("th", {}, "in"), el("th", {}, "type"), el("th", {}, "description")),
      params.map((p) => el("tr", {},
        el("td", {}, el("code", {}, p.name + (p.required ? "" : "?"))), el("td", {}, p.in),
        el("td", {}, JSON.stringify(sketch(spec, p.schema || {}, 0))), el("td", {}, p.description || "")))));
  }
  if (op.requestBody) body.append(el("h4", {}, "Request body"), schemaBlock(spec, op.requestBody.content));
  body.append(el("h4", {}, "Responses"));
  for (const [status, response] of Object.entries(op.responses || {})) {
    body.append(el("div", {},
      el("span", { class: "status s" + status[0] }, status), " ", response.description || ""),
      schemaBlock(spec, response.content));
  }
  return el("details", { class: "op", "data-search": [method, path, op.summary, (op.tags || []).join(" ")].join(" ").toLowerCase() },
    el("summary", {}, el("span", { class: "method " + method }, method), el("span", { class: "path" }, path),
      secured ? el("span", { class: "lock", title: "requires a session (cookie or bearer token)" }, "auth") : null,
      el("span", { class: "summary" }, op.summary || "")),
    body);
}

function render(spec) {
  document.getElementById("title").textContent = spec.info.title;
  document.getElementById("description").textContent = spec.info.description || "";
  const meta = document.getElementById("meta");
  meta.append(el("span", {}, "version " + spec.info.version), el("span", {}, "OpenAPI " + spec.openapi));
  for (const server of spec.servers || []) meta.append(el("span", {}, server.url));

  const byTag = new Map();
  for (const [path, item] of Object.entries(spec.paths || {})) {
    for (const method of METHODS) {
      if (!item[method]) continue;
      const tag = (item[method].tags || ["Other"])[0];
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(operation(spec, path, method, item[method]));
    }
  }
  const toc = document.getElementById("toc");
  const ops = document.getElementById("operations");
  for (const [tag, nodes] of byTag) {
    const id = "tag-" + tag.toLowerCase().replace(/[^a-z0-9]+/g, "-");
    toc.append(el("a", { href: "#" + id }, tag));
    ops.append(el("section", { class: "tag", id }, el("h2", {}, tag), nodes));
  }
  document.getElementById("filter").addEventListener("input", (event) => {
    const needle = event.target.value.trim().toLowerCase();
    for (const node of ops.querySelectorAll(".op")) {
      node.hidden = needle !== "" && !node.dataset.search.includes(needle);
    }
  });
}

fetch("/json", { headers: { accept: "application/json" } })
  .then((response) => { if (!response.ok) throw new Error("HTTP " + response.status); return response.json(); })
  .then(render)
  .catch((error) => {
    const description = document.getElementById("description");
    description.className = "error";
    description.textContent = "Could not load the API description: " + error.message;
  });
