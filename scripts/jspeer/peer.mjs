// An end-to-end encryption peer for quotient's tests: matrix-js-sdk with
// its Rust crypto (the engine Element Web runs), logged in as a new device,
// driven through JSON lines.
//
//   node peer.mjs --homeserver URL --user USER --password PW [--device-name NAME]
//                 [--access-token TOKEN --device-id DEVICE] [--cross-signing auto|reset|none]
//
// Every flag may come from the environment instead: JSPEER_HOMESERVER,
// JSPEER_USER, JSPEER_PASSWORD, JSPEER_DEVICE_NAME, JSPEER_ACCESS_TOKEN,
// JSPEER_DEVICE_ID, JSPEER_CROSS_SIGNING. It needs node 22 and the packages
// `scripts/homeserver install-jspeer` puts into $QUOTIENT_JSPEER_DIR
// (default .local/jspeer); tests start it through
// crates/quotient-client/tests/support/jspeer.rs.
//
// Start-up: a password login creating a new device (or, with
// --access-token and --device-id, a device someone else created and whose
// keys nobody uploaded yet: the crypto store is in memory, so a device can
// be driven by one peer process only, once), Rust crypto, the sync loop,
// then cross-signing (--cross-signing: `auto` creates it when the account
// has none and leaves an existing identity alone, since the peer cannot
// reach its private keys and replacing it would break whoever trusts it;
// `reset` always creates a new identity; `none` never does).
//
// Protocol: one JSON command per line on stdin,
// `{"id": 1, "cmd": "send_text", "room_id": "!r:hs", "body": "hi"}`, and one
// answer per command on stdout, `{"id": 1, "ok": true, "event_id": "$e"}` or
// `{"id": 1, "ok": false, "error": "..."}`, in the order they finish
// (commands run concurrently). Commands sent before start-up has finished
// wait for it. stdout carries these answers only; logs go to stderr, at the
// level in QUOTIENT_JSPEER_LOG (error by default; warn, info, debug, trace).
// If start-up fails the process says why on stderr and exits 1; when
// stdin closes it exits 0.
//
// Commands (each answer also carries "id" and "ok"; every wait is bounded by
// `timeout_ms`, default 30000, and every command by `timeout_ms` too):
//   device_info                        → user_id, device_id, ed25519, curve25519,
//                                        cross_signing_ready, signed_by_owner
//   create_room {invite, encrypted=true, direct=false, name}   → room_id
//   join {room_id}   leave {room_id}   invite {room_id, user, share_history=true}
//   wait_invite {room_id?}             → room_id, inviter
//   wait_member {room_id, user, membership="join"}
//   send_text {room_id, body, recipients?, allow_plaintext?}   → event_id, encrypted
//   send_file {room_id, path, mimetype, recipients?, allow_plaintext?} → event_id, url
//   wait_text {room_id, body, sender?, allow_plaintext?}
//                                      → event_id, sender, decrypted, sender_device, shield…
//   messages {room_id}                 → events: [{event_id, type, body, decryption_failed…}]
//   download {room_id, event_id, out_path}   → bytes, encrypted
//   devices {user}                     → devices: [{device_id, signed_by_owner…}]
//   set_isolation {mode: "all" | "only_signed"}
//   stop                               → answers, stops the client, exits 0
// `recipients`: users that must be joined or invited as this peer sees the
// room before it encrypts, so that the room key goes to them too.
// Trust and recovery (emoji verification, device and user trust, secret
// storage and key backup under a recovery key): listed in trust.mjs.
import { Console } from "node:console";
import { createRequire } from "node:module";
import fs from "node:fs/promises";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

// ---------------------------------------------------------------- options

function options() {
  const env = {
    homeserver: "JSPEER_HOMESERVER",
    user: "JSPEER_USER",
    password: "JSPEER_PASSWORD",
    "device-name": "JSPEER_DEVICE_NAME",
    "access-token": "JSPEER_ACCESS_TOKEN",
    "device-id": "JSPEER_DEVICE_ID",
    "cross-signing": "JSPEER_CROSS_SIGNING",
  };
  const opts = {};
  for (const [flag, name] of Object.entries(env)) {
    if (process.env[name]) opts[flag] = process.env[name];
  }
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i].replace(/^--/, "");
    if (!(flag in env) || i + 1 >= argv.length) {
      usage(`unknown flag or missing value: ${argv[i]}`);
    }
    opts[flag] = argv[++i];
  }
  if (!opts.homeserver || !opts.user) usage("--homeserver and --user are required");
  if (!opts.password && !(opts["access-token"] && opts["device-id"])) {
    usage("--password, or --access-token with --device-id, is required");
  }
  opts["cross-signing"] ??= "auto";
  if (!["auto", "reset", "none"].includes(opts["cross-signing"])) {
    usage("--cross-signing is auto, reset or none");
  }
  opts["device-name"] ??= "jspeer";
  return opts;
}

function usage(why) {
  process.stderr.write(`jspeer: ${why}\n`);
  process.exit(2);
}

const opts = options();

// ---------------------------------------------------------------- logging

// stdout is the answer channel, and matrix-js-sdk logs through `console`
// (its module-level logger) besides the logger given to the client: every
// console method is pointed at stderr, filtered by level, before the SDK is
// loaded. Answers are written with process.stdout.write only.
const LEVELS = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, silent: 5 };
const threshold = LEVELS[process.env.QUOTIENT_JSPEER_LOG ?? "error"] ?? LEVELS.error;
const stderrConsole = new Console({ stdout: process.stderr, stderr: process.stderr });
const tag = `jspeer[${opts["device-name"]}]`;

function log(level, ...args) {
  if (LEVELS[level] >= threshold) {
    stderrConsole.error(new Date().toISOString(), tag, level, ...args);
  }
}
for (const [method, level] of Object.entries({
  log: "info", info: "info", debug: "debug", trace: "trace", warn: "warn", error: "error",
})) {
  console[method] = (...args) => log(level, ...args);
}

// The SDK's Logger interface: levels plus named children.
function makeLogger(prefix) {
  const at = (level) => (...args) => log(level, ...(prefix ? [prefix] : []), ...args);
  return {
    trace: at("trace"), debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error"),
    getChild: (name) => makeLogger(prefix ? `${prefix}${name}` : name),
  };
}
const logger = makeLogger("");

// ---------------------------------------------------------------- the SDK

// The packages live outside the repository, in the directory
// `scripts/homeserver install-jspeer` fills; ESM resolves bare names only
// from the importing file's directory, so they are resolved from there.
const here = path.dirname(fileURLToPath(import.meta.url));
const packagesDir = process.env.QUOTIENT_JSPEER_DIR
  ? path.resolve(process.env.QUOTIENT_JSPEER_DIR)
  : path.join(here, "../../.local/jspeer");
const require = createRequire(path.join(packagesDir, "node_modules", "noop.js"));
const importPackage = (name) => import(pathToFileURL(require.resolve(name)).href);

const sdk = await importPackage("matrix-js-sdk");
const cryptoApi = await importPackage("matrix-js-sdk/lib/crypto-api/index.js");
const { encryptAttachment, decryptAttachment } = require("matrix-encrypt-attachment");
const { trustCommands } = await import("./trust.mjs");

// ---------------------------------------------------------------- helpers

const DEFAULT_TIMEOUT_MS = 30_000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls `check` (every 100 ms: events arrive through sync, and a poll is
// simpler to get right than a listener per case) until it returns something
// other than undefined/false, or fails after `timeoutMs` with `what()`.
async function waitFor(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await check();
    if (found !== undefined && found !== false) return found;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    }
    await sleep(100);
  }
}

function withTimeout(promise, timeoutMs, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function need(args, name) {
  if (args[name] === undefined || args[name] === null || args[name] === "") {
    throw new Error(`missing argument "${name}"`);
  }
  return args[name];
}

function errorText(e) {
  if (e instanceof sdk.MatrixError) return `${e.errcode ?? "error"} (HTTP ${e.httpStatus}): ${e.message}`;
  return e?.message ?? String(e);
}

// ---------------------------------------------------------------- start-up

let client;
let rustCrypto; // client.getCrypto(): the CryptoApi over matrix-sdk-crypto-wasm
let session; // { userId, deviceId, accessToken }

async function login() {
  const baseUrl = opts.homeserver.replace(/\/+$/, "");
  if (opts["access-token"]) {
    const probe = sdk.createClient({ baseUrl, accessToken: opts["access-token"], logger });
    const { user_id } = await probe.whoami();
    return { baseUrl, userId: user_id, deviceId: opts["device-id"], accessToken: opts["access-token"] };
  }
  const anonymous = sdk.createClient({ baseUrl, logger });
  const answer = await anonymous.loginRequest({
    type: "m.login.password",
    identifier: { type: "m.id.user", user: opts.user },
    password: opts.password,
    initial_device_display_name: opts["device-name"],
  });
  return { baseUrl, userId: answer.user_id, deviceId: answer.device_id, accessToken: answer.access_token };
}

// User-interactive auth for uploading cross-signing keys: Synapse lets an
// account without keys upload its first ones with no auth at all (MSC3967);
// otherwise it answers 401 with a session, which the password completes.
async function authWithPassword(makeRequest) {
  try {
    return await makeRequest(null);
  } catch (e) {
    const flows = e?.data?.flows;
    if (e?.httpStatus !== 401 || !flows) throw e;
    if (!opts.password) throw new Error("the server asks for a password to upload cross-signing keys; start the peer with --password");
    return await makeRequest({
      type: "m.login.password",
      identifier: { type: "m.id.user", user: session.userId },
      password: opts.password,
      session: e.data.session,
    });
  }
}

async function setUpCrossSigning() {
  const mode = opts["cross-signing"];
  if (mode === "none") return;
  // `true`: ask the server, since a `false` here leads to new keys.
  const hasIdentity = await rustCrypto.userHasCrossSigningKeys(session.userId, true);
  if (mode === "reset" || !hasIdentity) {
    await rustCrypto.bootstrapCrossSigning({
      setupNewCrossSigning: true,
      authUploadDeviceSigningKeys: authWithPassword,
    });
    // Bootstrapping uploads the device's signature but leaves the local
    // copy of our own device unsigned until a /keys/query: ask again, so
    // that device_info's signed_by_owner tells what others see.
    await rustCrypto.userHasCrossSigningKeys(session.userId, true);
    log("info", `cross-signing set up for ${session.userId}`);
  } else {
    log("warn", `${session.userId} already has a cross-signing identity this peer cannot sign with; device ${session.deviceId} stays unsigned`);
  }
}

// The commands of trust.mjs, with what they need of this file.
const trust = trustCommands({
  sdk,
  cryptoApi,
  log,
  waitFor,
  need,
  errorText,
  authWithPassword,
  get client() {
    return client;
  },
  get crypto() {
    return rustCrypto;
  },
  get session() {
    return session;
  },
});

async function start() {
  session = await login();
  client = sdk.createClient({
    baseUrl: session.baseUrl,
    userId: session.userId,
    deviceId: session.deviceId,
    accessToken: session.accessToken,
    logger,
    // Secret storage asks for its key through these.
    cryptoCallbacks: trust.cryptoCallbacks,
  });
  // In memory: each peer process is a new device, gone when it exits.
  await client.initRustCrypto({ useIndexedDB: false });
  rustCrypto = client.getCrypto();
  // Verification requests are queued from the first sync on.
  trust.attach(client);

  const prepared = new Promise((resolve, reject) => {
    const onSync = (state, _prev, data) => {
      if (state === sdk.SyncState.Prepared) {
        client.off(sdk.ClientEvent.Sync, onSync);
        resolve();
      } else if (state === sdk.SyncState.Error && !client.isInitialSyncComplete()) {
        client.off(sdk.ClientEvent.Sync, onSync);
        reject(new Error(`first sync failed: ${errorText(data?.error)}`));
      }
    };
    client.on(sdk.ClientEvent.Sync, onSync);
  });
  await client.startClient({ initialSyncLimit: 50 });
  await withTimeout(prepared, 60_000, "the first sync");
  await setUpCrossSigning();
  log("info", `ready: ${session.userId} ${session.deviceId}`);
}

// ---------------------------------------------------------------- rooms and events

function roomOrThrow(roomId) {
  const room = client.getRoom(roomId);
  if (!room) throw new Error(`room ${roomId} is not known to this peer`);
  return room;
}

// Every event the peer holds for a room: a gappy sync starts a new live
// timeline, so all the timelines of the room's unfiltered set are read.
function roomEvents(room) {
  const seen = new Set();
  const events = [];
  for (const timeline of room.getUnfilteredTimelineSet().getTimelines()) {
    for (const ev of timeline.getEvents()) {
      const id = ev.getId();
      if (!seen.has(id)) {
        seen.add(id);
        events.push(ev);
      }
    }
  }
  return events;
}

async function isEncryptedRoom(room) {
  return room.hasEncryptionStateEvent() || (await rustCrypto.isEncryptionEnabledInRoom(room.roomId));
}

// The sending device of a decrypted event: the Megolm session tells the
// Curve25519 key it came from, and the sender's device list maps it to a
// device (the deprecated `device_id` in the ciphertext is a fallback only).
async function senderDevice(ev) {
  const key = ev.getSenderKey();
  if (key) {
    const devices = await rustCrypto.getUserDeviceInfo([ev.getSender()], true);
    for (const device of devices.get(ev.getSender())?.values() ?? []) {
      if (device.getIdentityKey() === key) return device.deviceId;
    }
  }
  return ev.getWireContent().device_id ?? null;
}

async function shield(ev) {
  const info = await rustCrypto.getEncryptionInfoForEvent(ev);
  if (!info) return { shield: null, shield_reason: null };
  return {
    shield: cryptoApi.EventShieldColour[info.shieldColour],
    shield_reason: info.shieldReason === null ? null : cryptoApi.EventShieldReason[info.shieldReason],
  };
}

function describe(ev) {
  const content = ev.getContent();
  return {
    event_id: ev.getId(),
    sender: ev.getSender(),
    type: ev.getType(),
    wire_type: ev.getWireType(),
    state_key: ev.getStateKey() ?? null,
    msgtype: content.msgtype ?? null,
    body: content.body ?? null,
    encrypted: ev.isEncrypted(),
    decrypting: ev.isBeingDecrypted(),
    decryption_failed: ev.isDecryptionFailure(),
    decryption_failure_reason: ev.decryptionFailureReason ?? null,
    // Set on local echoes ("sending", "not_sent", …); null once sent.
    status: ev.status ?? null,
    origin_server_ts: ev.getTs(),
  };
}

// Waits until the peer has joined the room as its own sync sees it, and
// (per `recipients`) until those users are joined or invited there. Both
// matter for encryption: js-sdk sends in the clear into a room it does not
// know, and shares the room key only with the members it knows of.
async function roomForSending(args, timeoutMs) {
  const roomId = need(args, "room_id");
  const room = await waitFor(
    () => {
      const r = client.getRoom(roomId);
      return r?.getMyMembership() === "join" ? r : undefined;
    },
    timeoutMs,
    () => `this peer to be joined to ${roomId} (membership: ${client.getRoom(roomId)?.getMyMembership() ?? "unknown room"})`,
  );
  for (const user of args.recipients ?? []) {
    await waitFor(
      () => ["join", "invite"].includes(room.getMember(user)?.membership),
      timeoutMs,
      () => `${user} to be joined or invited in ${roomId} (membership: ${room.getMember(user)?.membership ?? "none"})`,
    );
  }
  const encrypted = await isEncryptedRoom(room);
  if (!encrypted && !args.allow_plaintext) {
    throw new Error(`${roomId} is not encrypted as this peer sees it; pass allow_plaintext to send in the clear`);
  }
  return { room, encrypted };
}

// An event of a room: from the timelines, else fetched from the server and
// decrypted here.
async function findEvent(roomId, eventId, timeoutMs) {
  const room = client.getRoom(roomId);
  let ev = room?.findEventById(eventId);
  if (!ev) {
    const raw = await client.fetchRoomEvent(roomId, eventId);
    ev = client.getEventMapper()(raw);
  }
  await withTimeout(client.decryptEventIfNeeded(ev), timeoutMs, `decrypting ${eventId}`);
  if (ev.isDecryptionFailure()) {
    throw new Error(`${eventId} could not be decrypted: ${ev.decryptionFailureReason}`);
  }
  return ev;
}

// ---------------------------------------------------------------- commands

const commands = {
  async device_info() {
    const keys = await rustCrypto.getOwnDeviceKeys();
    const status = await rustCrypto.getDeviceVerificationStatus(session.userId, session.deviceId);
    return {
      user_id: session.userId,
      device_id: session.deviceId,
      ed25519: keys.ed25519,
      curve25519: keys.curve25519,
      cross_signing_ready: await rustCrypto.isCrossSigningReady(),
      signed_by_owner: status?.signedByOwner ?? false,
    };
  },

  async create_room(args, timeoutMs) {
    const encrypted = args.encrypted ?? true;
    const direct = args.direct ?? false;
    const { room_id } = await client.createRoom({
      invite: args.invite ?? [],
      is_direct: direct,
      preset: direct ? "trusted_private_chat" : "private_chat",
      ...(args.name ? { name: args.name } : {}),
      initial_state: encrypted
        ? [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }]
        : [],
    });
    // Answer once the room (with its encryption state) has come down the
    // peer's own sync, so that a send_text right after encrypts.
    await waitFor(
      async () => {
        const room = client.getRoom(room_id);
        return room?.getMyMembership() === "join" && (!encrypted || (await isEncryptedRoom(room)));
      },
      timeoutMs,
      () => `${room_id} to come down this peer's sync`,
    );
    if (direct) {
      // What Element does for a DM: list the room under each invitee in
      // m.direct, so clients that read it see a direct chat.
      const map = { ...(client.getAccountData(sdk.EventType.Direct)?.getContent() ?? {}) };
      for (const user of args.invite ?? []) map[user] = [...(map[user] ?? []), room_id];
      await client.setAccountData(sdk.EventType.Direct, map);
    }
    return { room_id };
  },

  async join(args, timeoutMs) {
    const roomId = need(args, "room_id");
    await client.joinRoom(roomId);
    await waitFor(
      () => client.getRoom(roomId)?.getMyMembership() === "join",
      timeoutMs,
      () => `the join of ${roomId} to come down this peer's sync`,
    );
    return {};
  },

  async leave(args) {
    await client.leave(need(args, "room_id"));
    return {};
  },

  async invite(args) {
    const roomId = need(args, "room_id");
    const user = need(args, "user");
    if (args.share_history === false) {
      // A bare /invite, without the SDK's MSC4268 room-key bundle.
      await client.http.authedRequest(sdk.Method.Post, `/rooms/${encodeURIComponent(roomId)}/invite`, undefined, { user_id: user });
    } else {
      await client.invite(roomId, user);
    }
    return {};
  },

  async wait_invite(args, timeoutMs) {
    const room = await waitFor(
      () => client.getRooms().find((r) => r.getMyMembership() === "invite" && (!args.room_id || r.roomId === args.room_id)),
      timeoutMs,
      () => `an invite${args.room_id ? ` to ${args.room_id}` : ""}`,
    );
    const inviter = room.getMember(session.userId)?.events.member?.getSender() ?? null;
    return { room_id: room.roomId, inviter };
  },

  async wait_member(args, timeoutMs) {
    const roomId = need(args, "room_id");
    const user = need(args, "user");
    const membership = args.membership ?? "join";
    await waitFor(
      () => client.getRoom(roomId)?.getMember(user)?.membership === membership,
      timeoutMs,
      () => `${user} to be ${membership} in ${roomId} (now: ${client.getRoom(roomId)?.getMember(user)?.membership ?? "none"})`,
    );
    return {};
  },

  async send_text(args, timeoutMs) {
    const body = need(args, "body");
    const { room, encrypted } = await roomForSending(args, timeoutMs);
    const { event_id } = await client.sendTextMessage(room.roomId, body);
    return { event_id, encrypted };
  },

  async send_file(args, timeoutMs) {
    const file = need(args, "path");
    const mimetype = args.mimetype ?? "application/octet-stream";
    const { room, encrypted } = await roomForSending(args, timeoutMs);
    const plain = await fs.readFile(file);
    const content = {
      msgtype: mimetype.startsWith("image/") ? "m.image" : "m.file",
      body: path.basename(file),
      info: { mimetype, size: plain.length },
    };
    if (encrypted) {
      // AES-CTR with a fresh key; the key, IV and SHA-256 travel in the
      // (Megolm-encrypted) event, the server gets opaque bytes.
      const { data, info } = await encryptAttachment(plain.buffer.slice(plain.byteOffset, plain.byteOffset + plain.length));
      const { content_uri } = await client.uploadContent(Buffer.from(data), {
        type: "application/octet-stream",
        includeFilename: false,
      });
      content.file = { ...info, url: content_uri };
    } else {
      const { content_uri } = await client.uploadContent(plain, { type: mimetype, name: content.body });
      content.url = content_uri;
    }
    const { event_id } = await client.sendMessage(room.roomId, content);
    return { event_id, encrypted, url: content.file?.url ?? content.url };
  },

  async wait_text(args, timeoutMs) {
    const roomId = need(args, "room_id");
    const body = need(args, "body");
    let utds = [];
    const ev = await waitFor(
      () => {
        const room = client.getRoom(roomId);
        if (!room) return undefined;
        const events = roomEvents(room);
        utds = events.filter((e) => e.isDecryptionFailure());
        return events.find(
          (e) =>
            !e.isDecryptionFailure() &&
            e.getType() === "m.room.message" &&
            e.getContent().body === body &&
            (!args.sender || e.getSender() === args.sender) &&
            // the remote echo, not our own local echo
            !e.status,
        );
      },
      timeoutMs,
      () => {
        const reasons = utds.map((e) => `${e.getId()} from ${e.getSender()}: ${e.decryptionFailureReason}`);
        return `"${body}" in ${roomId}` + (reasons.length ? `; undecryptable there: ${reasons.join(", ")}` : "");
      },
    );
    if (!ev.isEncrypted() && !args.allow_plaintext) {
      throw new Error(`"${body}" arrived in the clear (${ev.getId()} from ${ev.getSender()}); pass allow_plaintext to accept that`);
    }
    return {
      event_id: ev.getId(),
      sender: ev.getSender(),
      decrypted: ev.isEncrypted(),
      sender_device: ev.isEncrypted() ? await senderDevice(ev) : null,
      ...(ev.isEncrypted() ? await shield(ev) : { shield: null, shield_reason: null }),
      content: ev.getContent(),
    };
  },

  async messages(args) {
    const room = roomOrThrow(need(args, "room_id"));
    return { events: roomEvents(room).map(describe) };
  },

  async download(args, timeoutMs) {
    const roomId = need(args, "room_id");
    const outPath = need(args, "out_path");
    const ev = await findEvent(roomId, need(args, "event_id"), timeoutMs);
    const content = ev.getContent();
    const mxc = content.file?.url ?? content.url;
    if (!mxc) throw new Error(`${ev.getId()} has no file (msgtype ${content.msgtype})`);
    // Authenticated media (/_matrix/client/v1/media): Synapse serves new
    // uploads only there.
    const url = client.mxcUrlToHttp(mxc, undefined, undefined, undefined, false, true, true);
    const response = await fetch(url, {
      headers: { Authorization: `Bearer ${client.getAccessToken()}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status} ${await response.text()}`);
    let data = await response.arrayBuffer();
    // decryptAttachment checks the SHA-256 before it decrypts; the file is
    // moved into place only once complete.
    if (content.file) data = await decryptAttachment(data, content.file);
    const partial = `${outPath}.partial-${process.pid}`;
    await fs.writeFile(partial, Buffer.from(data));
    await fs.rename(partial, outPath);
    return { bytes: data.byteLength, encrypted: Boolean(content.file), mimetype: content.info?.mimetype ?? null };
  },

  async devices(args) {
    const user = need(args, "user");
    const map = await rustCrypto.getUserDeviceInfo([user], true);
    const devices = [];
    for (const device of map.get(user)?.values() ?? []) {
      const status = await rustCrypto.getDeviceVerificationStatus(user, device.deviceId);
      devices.push({
        device_id: device.deviceId,
        display_name: device.displayName ?? null,
        ed25519: device.getFingerprint() ?? null,
        curve25519: device.getIdentityKey() ?? null,
        signed_by_owner: status?.signedByOwner ?? false,
        cross_signing_verified: status?.crossSigningVerified ?? false,
      });
    }
    return { devices };
  },

  // "all": share keys with every device (Element's default); "only_signed":
  // only with devices cross-signed by their owner, and refuse to decrypt
  // from others (Element's "exclude insecure devices").
  async set_isolation(args) {
    const mode = need(args, "mode");
    if (mode === "all") rustCrypto.setDeviceIsolationMode(new cryptoApi.AllDevicesIsolationMode(false));
    else if (mode === "only_signed") rustCrypto.setDeviceIsolationMode(new cryptoApi.OnlySignedDevicesIsolationMode());
    else throw new Error(`unknown isolation mode ${mode}`);
    // The SDK retries a failed decryption only when new keys arrive; an
    // event refused under the old mode (UNSIGNED_SENDER_DEVICE) is retried
    // here, as the mode changed what it would decide.
    const retries = [];
    for (const room of client.getRooms()) {
      for (const ev of roomEvents(room)) {
        // (decryptEventIfNeeded skips events holding a failure placeholder;
        // attemptDecryption is what the SDK itself calls when keys arrive.)
        if (ev.isDecryptionFailure()) retries.push(ev.attemptDecryption(rustCrypto, { isRetry: true }));
      }
    }
    await Promise.allSettled(retries);
    return { retried: retries.length };
  },

  async stop() {
    stopping = true;
    return {};
  },

  ...trust.commands,
};

// ---------------------------------------------------------------- the loop

let stopping = false;
let exiting = false;
// Commands read and not yet answered, by a token per command (ids are the
// caller's and need not be unique).
const unanswered = new Map();

function answer(message) {
  if (!exiting) process.stdout.write(JSON.stringify(message) + "\n");
}

// Every command gets its answer, those cut short by the exit too.
function shutdown(code) {
  if (exiting) return;
  for (const id of unanswered.values()) {
    answer({ id, ok: false, error: "the peer stopped before this command finished" });
  }
  exiting = true;
  try {
    client?.stopClient();
  } catch (e) {
    log("warn", "stopping the client:", e);
  }
  // Let stdout drain before leaving.
  process.stdout.write("", () => process.exit(code));
}

const ready = start();
ready.catch((e) => {
  // Said whatever the log level: the test shows it when the peer dies.
  log("debug", "start-up failed:", e);
  process.stderr.write(`jspeer: start-up failed: ${errorText(e)}\n`);
  process.exit(1);
});

async function run(line, token) {
  let request;
  try {
    request = JSON.parse(line);
  } catch (e) {
    return { id: null, ok: false, error: `not JSON: ${e.message}` };
  }
  const { id = null, cmd, ...args } = request ?? {};
  unanswered.set(token, id);
  const handler = Object.hasOwn(commands, cmd ?? "") ? commands[cmd] : undefined;
  if (!handler) return { id, ok: false, error: `unknown command ${JSON.stringify(cmd)}` };
  const timeoutMs = Number(args.timeout_ms ?? DEFAULT_TIMEOUT_MS);
  try {
    await ready;
    // The handlers bound their own waits; this bounds the SDK calls too.
    const result = await withTimeout(handler(args, timeoutMs), timeoutMs + 1_000, cmd);
    return { id, ok: true, ...result };
  } catch (e) {
    log("info", `${cmd} failed:`, e);
    return { id, ok: false, error: errorText(e) };
  }
}

const inFlight = new Set();
const lines = readline.createInterface({ input: process.stdin, terminal: false });
lines.on("line", (line) => {
  if (!line.trim() || exiting) return;
  const token = Symbol();
  const job = run(line, token).then((message) => {
    unanswered.delete(token);
    answer(message);
    if (stopping) shutdown(0);
  });
  inFlight.add(job);
  job.finally(() => inFlight.delete(job));
});
// End of input: the commands already given are finished (each is bounded)
// and answered, then the peer leaves. A test that is gone closes stdin too.
lines.on("close", () => {
  Promise.allSettled([...inFlight]).then(() => shutdown(0));
});
// A rejected promise somewhere in the SDK's background work must not take
// the peer down with the test's commands in flight.
process.on("unhandledRejection", (e) => log("warn", "unhandled rejection:", e));
process.on("SIGTERM", () => shutdown(0));
