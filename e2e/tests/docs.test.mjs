// The docs page in a real browser (headless Chromium through puppeteer-core): it loads without a
// failed request, a CSP violation or anything from another origin, "Try it out" works with a pasted
// bearer token, and the Realtime section lists every server event.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import puppeteer from "puppeteer-core";
import { TIMEOUT_MS, createSession, freshDataDir, startServer } from "./server.mjs";

// Every server event of the contract (§5); the page must list at least these.
const CONTRACT_SERVER_EVENTS = [
  "new_message", "message_edited", "message_deleted", "message_read", "message_delivered",
  "conversation_created", "conversation_deleted", "user_status_changed", "user_typing", "error",
];

/** The system Chromium: CHROMIUM_PATH, else the first of the usual names on PATH. Fails loudly. */
function chromiumPath() {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  for (const name of ["chromium", "chromium-browser", "google-chrome-stable", "google-chrome"]) {
    try {
      return execFileSync("which", [name], { encoding: "utf8" }).trim();
    } catch {
      // not this one
    }
  }
  throw new Error(
    "No Chromium found for the docs page test: install it (Debian: apt-get install chromium; .ci/run does) " +
      "or set CHROMIUM_PATH to a Chromium or Chrome binary.",
  );
}

let server;
let token;
let browser;

before(async () => {
  const executablePath = chromiumPath();
  assert.ok(existsSync(executablePath), `CHROMIUM_PATH ${executablePath} does not exist`);
  const dataDir = freshDataDir();
  server = await startServer(dataDir);
  token = createSession(dataDir, "docs-reader");
  browser = await puppeteer.launch({
    executablePath,
    headless: true,
    // Root in CI containers cannot use Chromium's sandbox; the page is our own.
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Opens `/` and records every request, failure and console complaint. */
async function openDocs() {
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  const seen = { requests: [], failed: [], errors: [] };
  page.on("request", (r) => seen.requests.push(r.url()));
  page.on("requestfailed", (r) => seen.failed.push(`${r.url()}: ${r.failure()?.errorText}`));
  page.on("response", (r) => {
    if (r.status() >= 400) seen.failed.push(`${r.url()}: HTTP ${r.status()}`);
  });
  page.on("pageerror", (e) => seen.errors.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" || /Content Security Policy/i.test(m.text())) seen.errors.push(`console: ${m.text()}`);
  });
  await page.goto(`${server.url}/`, { waitUntil: "networkidle0", timeout: TIMEOUT_MS });
  await page.waitForSelector("#swagger-ui .opblock", { timeout: TIMEOUT_MS });
  await page.waitForSelector("#server-events tr[data-event]", { timeout: TIMEOUT_MS });
  return { page, seen };
}

async function screenshot(page, name, fullPage = false) {
  const dir = process.env.DOCS_SCREENSHOT_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage });
}

test("the docs page loads from this server alone, with no failed request and no CSP violation", async () => {
  const { page, seen } = await openDocs();
  const origin = new URL(server.url).origin;
  const foreign = seen.requests.filter((u) => !u.startsWith("data:") && new URL(u).origin !== origin);
  assert.deepEqual(foreign, [], "requests to other origins");
  assert.deepEqual(seen.failed, [], "failed requests");
  assert.deepEqual(seen.errors, [], "console errors or CSP violations");
  const csp = (await fetch(`${server.url}/`)).headers.get("content-security-policy");
  assert.match(csp, /script-src 'self';/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  // Markdown is rendered: the error lists are lists, their codes <code>.
  assert.ok(await page.$("#swagger-ui .info .markdown code, #swagger-ui .info .renderedMarkdown code"));
  await screenshot(page, "docs-dark");
  await page.close();
});

test("try it out: GET /auth/me with a pasted bearer token answers 200 on the page", async () => {
  const { page, seen } = await openDocs();
  await page.click(".scheme-container .btn.authorize");
  await page.waitForSelector(".dialog-ux .modal-ux", { timeout: TIMEOUT_MS });
  // One form per security scheme; the bearer one is the form whose heading names BearerToken.
  const forms = await page.$$(".dialog-ux .auth-container");
  let filled = false;
  for (const form of forms) {
    const heading = await form.$eval("h4", (h) => h.textContent);
    if (!heading.includes("BearerToken")) continue;
    await (await form.$("input")).type(token);
    await (await form.$("button.authorize")).click();
    filled = true;
  }
  assert.ok(filled, "the Authorize dialog offers BearerToken");
  await page.click(".dialog-ux .btn-done");

  const op = await page.waitForSelector('.opblock-get:has(.opblock-summary-path[data-path="/auth/me"])', {
    timeout: TIMEOUT_MS,
  });
  await (await op.$(".opblock-summary-control")).click();
  await op.waitForSelector(".try-out__btn", { timeout: TIMEOUT_MS });
  await (await op.$(".try-out__btn")).click();
  await (await op.waitForSelector(".btn.execute", { timeout: TIMEOUT_MS })).click();
  const status = await op.waitForSelector(".live-responses-table .response .response-col_status", {
    timeout: TIMEOUT_MS,
  });
  assert.equal((await status.evaluate((s) => s.textContent)).trim(), "200");
  const body = await op.$eval(".live-responses-table .response-col_description pre", (p) => p.textContent);
  assert.equal(JSON.parse(body).username, "docs-reader");
  await screenshot(page, "docs-try-it-out");
  assert.deepEqual(seen.failed, [], "failed requests");
  assert.deepEqual(seen.errors, [], "console errors or CSP violations");
  await page.close();
});

test("the Realtime section lists every server event of the AsyncAPI document", async () => {
  const { page } = await openDocs();
  const listed = await page.$$eval("#server-events tr[data-event]", (rows) => rows.map((r) => r.dataset.event));
  const doc = await (await fetch(`${server.url}/asyncapi.json`)).json();
  assert.equal(doc.asyncapi, "3.0.0");
  const documented = Object.values(doc.components.messages)
    .filter((m) => m["x-direction"] === "server-to-client")
    .map((m) => m.name);
  assert.deepEqual(listed.toSorted(), documented.toSorted());
  for (const event of CONTRACT_SERVER_EVENTS) assert.ok(listed.includes(event), `${event} listed`);
  const clientEvents = await page.$$eval("#client-events tr[data-event]", (rows) => rows.map((r) => r.dataset.event));
  assert.deepEqual(clientEvents.toSorted(), ["typing", "update_status"]);
  // Who receives each event is shown.
  const recipients = await page.$$eval("#server-events td.recipients", (cells) => cells.map((c) => c.textContent));
  assert.ok(recipients.every((r) => r.trim().length > 0));
  await page.evaluate(() => document.getElementById("realtime").scrollIntoView());
  await screenshot(page, "docs-realtime");
  await page.click("#theme-toggle");
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, "docs-light");
  await page.close();
});
