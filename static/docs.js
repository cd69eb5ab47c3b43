// Confab's docs page: starts Swagger UI (bundled by poem-openapi, served by Confab) on the OpenAPI
// document, renders the realtime events from the AsyncAPI document, and switches the theme.
// Loaded as a file, never inline, so the page runs under `script-src 'self'`. Text from the
// documents is inserted with textContent only, never as HTML.
"use strict";

const THEME_KEY = "confab-docs-theme";

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  const button = document.getElementById("theme-toggle");
  button.textContent = theme === "dark" ? "Light theme" : "Dark theme";
  button.setAttribute("aria-pressed", String(theme === "light"));
}

function setUpTheme() {
  let stored = null;
  try {
    stored = localStorage.getItem(THEME_KEY);
  } catch {
    // storage disabled: the theme just is not remembered
  }
  applyTheme(stored === "light" ? "light" : "dark");
  document.getElementById("theme-toggle").addEventListener("click", () => {
    const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    applyTheme(next);
    try {
      localStorage.setItem(THEME_KEY, next);
    } catch {
      // as above
    }
  });
}

async function fetchJson(path) {
  const response = await fetch(path, { headers: { accept: "application/json" } });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

// "Try it out" must reach the server that served this page, whatever PUBLIC_URL says (a page opened
// as 127.0.0.1 would otherwise call localhost, another origin): this origin comes first.
async function startSwaggerUi() {
  const spec = await fetchJson("/json");
  const here = window.location.origin;
  const others = (spec.servers || []).filter((s) => s.url.replace(/\/$/, "") !== here);
  spec.servers = [{ url: here, description: "This server" }, ...others];
  window.ui = window.SwaggerUIBundle({
    spec,
    dom_id: "#swagger-ui",
    deepLinking: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    defaultModelRendering: "example",
    displayRequestDuration: true,
    filter: true,
    persistAuthorization: true,
    showCommonExtensions: false,
    tryItOutEnabled: false,
    validatorUrl: null, // the default asks validator.swagger.io, another origin
    withCredentials: true,
    syntaxHighlight: { activated: true, theme: "agate" },
  });
}

// ---- the Realtime section, from /asyncapi.json ----

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  for (const child of children) node.append(child);
  return node;
}

// Inline Markdown as the documents use it: `code` and **bold**, as DOM nodes.
function inline(text) {
  const span = el("span");
  for (const part of String(text || "").split(/(`[^`]+`|\*\*[^*]+\*\*)/)) {
    if (part.startsWith("`") && part.endsWith("`") && part.length > 1) span.append(el("code", {}, part.slice(1, -1)));
    else if (part.startsWith("**") && part.endsWith("**") && part.length > 3) span.append(el("strong", {}, part.slice(2, -2)));
    else if (part) span.append(part);
  }
  return span;
}

function refName(schema) {
  const ref = schema && (schema.$ref || (schema.allOf && schema.allOf[0] && schema.allOf[0].$ref));
  return ref ? ref.split("/").pop() : null;
}

function typeLabel(schema, schemas) {
  const name = refName(schema);
  if (name && schemas[name] && schemas[name].enum) return schemas[name].enum.map((v) => JSON.stringify(v)).join(" | ");
  if (name) return name;
  const inner = (schema.allOf && schema.allOf[0]) || schema;
  if (inner.enum) return inner.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (inner.type === "string" && inner.format) return `string (${inner.format})`;
  if (inner.type === "object") return "object";
  return inner.type || "any";
}

// The fields of an object argument, from components.schemas or inline.
function fields(schema, schemas) {
  const name = refName(schema);
  const inner = name ? schemas[name] : (schema.allOf && schema.allOf[0]) || schema;
  if (!inner || !inner.properties) return null;
  const list = el("ul", { class: "fields" });
  for (const [field, prop] of Object.entries(inner.properties)) {
    const required = (inner.required || []).includes(field);
    const item = el("li", {}, el("code", {}, field), el("span", { class: "type" }, ` ${typeLabel(prop, schemas)}${required ? "" : "?"}`));
    if (prop.description) item.append(" — ", inline(prop.description.split("\n")[0]));
    list.append(item);
  }
  return list;
}

function argumentsCell(message, schemas) {
  const cell = el("td");
  const list = el("ol", { class: "args" });
  for (const arg of message.payload.items || []) {
    const item = el("li", {}, el("code", {}, arg.title), el("span", { class: "type" }, `: ${typeLabel(arg, schemas)}`));
    if (arg.description) item.append(" — ", inline(arg.description));
    const shape = fields(arg, schemas);
    if (shape) item.append(el("details", {}, el("summary", {}, "fields"), shape));
    list.append(item);
  }
  if (!list.children.length) cell.append(el("span", { class: "muted" }, "none"));
  else cell.append(list);
  return cell;
}

function eventRow(message, schemas, serverSide) {
  const name = el("td", {}, el("code", { class: "event-name" }, message.name));
  const badges = el("div", { class: "badges" });
  if (message["x-durable"]) badges.append(el("span", { class: "badge durable", title: "Stored with a cursor; replayed on reconnect and in GET /sync" }, "durable + cursor"));
  if (serverSide && !message["x-durable"]) badges.append(el("span", { class: "badge", title: "Not stored, no cursor" }, "ephemeral"));
  if (message["x-acknowledgement"]) badges.append(el("span", { class: "badge ack", title: "Calling the ack callback marks the message delivered" }, "asks for an ack"));
  name.append(badges);
  const row = el("tr", { "data-event": message.name }, name, el("td", {}, inline(message.summary)), argumentsCell(message, schemas));
  if (serverSide) row.append(el("td", { class: "recipients" }, inline(message["x-recipients"])));
  else row.append(el("td", {}, ...(message["x-errors"] || []).flatMap((code, i) => [i ? ", " : "", el("code", {}, code)])));
  return row;
}

function table(caption, headings, rows, id) {
  const head = el("tr", {}, ...headings.map((h) => el("th", { scope: "col" }, h)));
  return el("table", { class: "events", id }, el("caption", {}, caption), el("thead", {}, head), el("tbody", {}, ...rows));
}

async function renderRealtime() {
  const body = document.getElementById("realtime-body");
  const doc = await fetchJson("/asyncapi.json");
  const schemas = doc.components.schemas || {};
  const messages = Object.values(doc.components.messages);
  // The document names PUBLIC_URL; the page shows where this page's server is, as Swagger UI does.
  const here = `${window.location.protocol === "https:" ? "wss" : "ws"}://${window.location.host}${doc.servers.confab.pathname}`;
  const byOrder = (a, b) => a["x-order"] - b["x-order"];
  body.replaceChildren(
    el("p", {}, inline(doc.info.description.split("\n\n")[0])),
    el("p", {}, inline(doc.info.description.split("\n\n").slice(1).join(" "))),
    el("p", { class: "muted" }, `Endpoint: ${here} · `, el("a", { href: "/asyncapi.json" }, "AsyncAPI 3 document"), " · ", el("a", { href: "/asyncapi.yaml" }, "YAML")),
    table(
      "Server → client",
      ["Event", "When", "Arguments (in order)", "Who receives it"],
      messages.filter((m) => m["x-direction"] === "server-to-client").sort(byOrder).map((m) => eventRow(m, schemas, true)),
      "server-events",
    ),
    table(
      "Client → server",
      ["Event", "What it does", "Arguments (in order)", "Refused with error"],
      messages.filter((m) => m["x-direction"] === "client-to-server" && m.name !== "delivery_ack").sort(byOrder).map((m) => eventRow(m, schemas, false)),
      "client-events",
    ),
    el("p", { class: "muted" }, el("strong", {}, "Acknowledging new_message: "), inline(doc.components.messages.delivery_ack.summary)),
  );
}

function showFailure(target, error) {
  document.getElementById(target).replaceChildren(el("p", { class: "failure" }, `Could not load: ${error.message}`));
}

setUpTheme();
startSwaggerUi().catch((e) => showFailure("swagger-ui", e));
renderRealtime().catch((e) => showFailure("realtime-body", e));
