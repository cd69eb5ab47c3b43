// The durable event stream with the official socket.io-client: `auth` as a function that sends the
// newest cursor on every reconnect, so events sent while the connection was down arrive once each,
// in order, after the automatic reconnect (contract §6.1).
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
  server = await startServer(dataDir);
  for (const name of ["alice", "bob"]) {
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

function until(condition, what) {
  const deadline = Date.now() + TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const check = () => {
      if (condition()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(check, 10);
    };
    check();
  });
}

test("a client that keeps its cursor gets every message sent while it was away, once, in order", async () => {
  const send = (content) =>
    api(server, users.alice.token, "POST", `/conversations/${conversation.id}/messages`, { content });
  const start = await api(server, users.bob.token, "GET", "/sync");
  let cursor = start.body.cursor;
  const received = [];
  let connects = 0;
  const socket = io(server.url, {
    transports: ["websocket"],
    reconnectionDelay: 50,
    reconnectionDelayMax: 200,
    auth: (cb) => cb({ token: users.bob.token, since: cursor }),
  });
  socket.on("connect", () => connects++);
  socket.on("new_message", (message, meta) => {
    received.push(message.content);
    cursor = meta.cursor;
  });
  try {
    await until(() => connects === 1, "the first connect");
    await send("one");
    await until(() => received.length === 1, "the live message");
    // The transport drops (as on a network change); the client reconnects by itself.
    socket.io.engine.close();
    await until(() => socket.disconnected, "the disconnect");
    await send("two");
    await send("three");
    await until(() => received.length === 3, "the missed messages after the reconnect");
    await send("four");
    await until(() => received.length === 4, "the next live message");
    assert.deepEqual(received, ["one", "two", "three", "four"]);
    assert.ok(connects >= 2, "it reconnected");
    const rest = await api(server, users.bob.token, "GET", `/sync?since=${encodeURIComponent(cursor)}`);
    assert.deepEqual(rest.body.events, [], "the last cursor seen is the newest");
  } finally {
    socket.close();
  }
});

test("calling the acknowledgement callback of new_message marks the message delivered for both", async () => {
  const connect = (user, onMessage) => {
    const socket = io(server.url, { transports: ["websocket"], auth: { token: users[user].token } });
    const delivered = [];
    socket.on("message_delivered", (receipt, meta) => delivered.push({ receipt, meta }));
    if (onMessage) socket.on("new_message", onMessage);
    socket.delivered = delivered;
    return socket;
  };
  const alice = connect("alice");
  const bob = connect("bob", (message, meta, ack) => ack());
  try {
    await until(() => alice.connected && bob.connected, "both connected");
    const sent = await api(server, users.alice.token, "POST", `/conversations/${conversation.id}/messages`, {
      content: "please acknowledge",
      clientMessageId: "e2e-ack-1",
    });
    assert.equal(sent.status, 201);
    assert.equal(sent.body.clientMessageId, "e2e-ack-1");
    for (const socket of [alice, bob]) {
      await until(
        () => socket.delivered.some((d) => d.receipt.messageIds.includes(sent.body.id)),
        "message_delivered",
      );
      const { receipt, meta } = socket.delivered.find((d) => d.receipt.messageIds.includes(sent.body.id));
      assert.equal(receipt.recipientId, users.bob.id);
      assert.ok(meta.cursor, "durable: it carries a cursor");
    }
    const history = await api(server, users.alice.token, "GET", `/conversations/${conversation.id}/messages?limit=1`);
    assert.equal(history.body[0].status, "delivered");
  } finally {
    alice.close();
    bob.close();
  }
});
