// Realtime behaviour with the official socket.io-client: refused handshakes, delivery to exactly
// the right sockets, typing, presence with two tabs, disconnect on logout.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, test } from "node:test";
import { io } from "socket.io-client";

import { TIMEOUT_MS, api, createSession, freshDataDir, startServer } from "./server.mjs";

let server;
let dataDir;
const users = {};
let conversation;

before(async () => {
  dataDir = freshDataDir();
  server = await startServer(dataDir, { PRESENCE_GRACE: "0" });
  for (const name of ["alice", "bob", "carol", "dave", "erin"]) {
    const token = createSession(dataDir, name);
    const me = await api(server, token, "GET", "/auth/me");
    users[name] = { token, id: me.body.id };
  }
  conversation = (await api(server, users.alice.token, "POST", `/conversations/${users.bob.id}`)).body;
});
after(async () => {
  await server?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Connects and records every event in order; `next(name)` waits (bounded) for the next one. */
function client(options) {
  const socket = io(server.url, { transports: ["websocket"], reconnection: false, ...options });
  const queue = [];
  const waiters = [];
  socket.onAny((event, ...args) => {
    queue.push({ event, args });
    for (const w of waiters.splice(0)) w();
  });
  socket.next = async (name) => {
    const skipped = [];
    const deadline = Date.now() + TIMEOUT_MS;
    for (;;) {
      while (queue.length) {
        const item = queue.shift();
        if (item.event === name) return { args: item.args, skipped };
        skipped.push(item.event);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${name} within the timeout (saw ${skipped})`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };
  return socket;
}

function connected(socket) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no connect")), TIMEOUT_MS);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once("connect_error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function refusal(socket) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("neither connect nor connect_error")), TIMEOUT_MS);
    socket.once("connect", () => {
      clearTimeout(timer);
      reject(new Error("connected but should have been refused"));
    });
    socket.once("connect_error", (error) => {
      clearTimeout(timer);
      resolve(error.message);
    });
  });
}

async function as(name, extra = {}) {
  const socket = client({ auth: { token: users[name].token }, ...extra });
  await connected(socket);
  return socket;
}

test("handshakes without valid credentials or from a foreign origin are refused with the code", async () => {
  const cases = [
    [{}, "NO_TOKEN"],
    [{ extraHeaders: { cookie: "auth=tampered" } }, "INVALID_TOKEN"],
    [{ auth: { token: "garbage" } }, "INVALID_TOKEN"],
    [{ auth: { token: users.alice.token }, extraHeaders: { origin: "https://evil.example" } }, "ORIGIN_NOT_ALLOWED"],
  ];
  for (const [options, code] of cases) {
    const socket = client(options);
    assert.equal(await refusal(socket), code, JSON.stringify(options));
    socket.close();
  }
  const ok = await as("alice", { extraHeaders: { origin: "http://localhost:3000" } });
  ok.close();
});

test("a message reaches both participants on every tab, and nobody else", async () => {
  const [alice1, alice2, bob, carol] = await Promise.all([as("alice"), as("alice"), as("bob"), as("carol")]);
  try {
    const { body: sent } = await api(server, users.alice.token, "POST", `/conversations/${conversation.id}/messages`, { content: "hi bob" });
    for (const tab of [alice1, alice2, bob]) {
      const { args } = await tab.next("new_message");
      assert.deepEqual(args[0], sent);
    }
    // Carol's next message event is the one meant for her.
    const { body: withCarol } = await api(server, users.bob.token, "POST", `/conversations/${users.carol.id}`);
    const { body: toCarol } = await api(server, users.bob.token, "POST", `/conversations/${withCarol.id}/messages`, { content: "hi carol" });
    const { args } = await carol.next("new_message");
    assert.equal(args[0].id, toCarol.id);

    // Typing reaches only the other participant.
    alice1.emit("typing", conversation.id, true);
    const typing = await bob.next("user_typing");
    assert.deepEqual(typing.args, [users.alice.id, true, conversation.id]);
    alice1.emit("typing", conversation.id, "yes");
    const error = await alice1.next("error");
    assert.equal(error.args[0].code, "INVALID_TYPING_STATUS");
    assert.ok(!error.skipped.includes("user_typing"), "the typist does not hear itself");
  } finally {
    for (const s of [alice1, alice2, bob, carol]) s.close();
  }
});

test("presence with two tabs: offline only when the last tab goes", async () => {
  // Users of their own, so no socket of an earlier test is still closing.
  await api(server, users.dave.token, "POST", `/conversations/${users.erin.id}`);
  const erin = await as("erin");
  try {
    const tab1 = await as("dave");
    assert.deepEqual((await erin.next("user_status_changed")).args, [users.dave.id, "online"]);
    const tab2 = await as("dave");
    tab1.close();
    tab2.close();
    // Erin's connect snapshot may repeat the `online` she also heard live (both are true); the first
    // status that is not `online` must be the one `offline`, after the last tab closed.
    let offline = await erin.next("user_status_changed");
    while (offline.args[1] === "online") {
      assert.equal(offline.args[0], users.dave.id);
      offline = await erin.next("user_status_changed");
    }
    assert.deepEqual(offline.args, [users.dave.id, "offline"]);
  } finally {
    erin.close();
  }
});

test("logging out ends the session's sockets", async () => {
  const token = createSession(dataDir, "leaver");
  const socket = client({ auth: { token } });
  await connected(socket);
  const disconnected = new Promise((resolve) => socket.once("disconnect", resolve));
  const { status } = await api(server, token, "POST", "/auth/logout");
  assert.equal(status, 200);
  assert.equal(await disconnected, "io server disconnect");
});
