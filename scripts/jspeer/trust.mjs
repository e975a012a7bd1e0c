// Trust and recovery commands of the matrix-js-sdk test peer (peer.mjs
// imports them): emoji verification in both roles, the trust the peer sees
// in devices and users, and secret storage with key backup under a
// recovery key, made here or restored here. The same JSON-lines protocol
// and the same rule: every wait is bounded by `timeout_ms`.
//
// Verification (to-device, the SAS method; a flow is named by its
// transaction ID, "flow_id"):
//   verify_request {user?, device?}   → flow_id. Without `device`: this
//                      user's other devices (requestOwnUserVerification);
//                      with it: that device of `user` (waits until the
//                      peer knows the device). The side that asks starts
//                      the emoji exchange once the other side is ready.
//   verify_accept {user?}             → flow_id, other_user, other_device.
//                      Waits for a request to this device (from `user`)
//                      that no command took yet, and answers it (ready).
//   verify_sas {flow_id}              → emoji: [{number, symbol, name}],
//                      decimals: [n, n, n]. Waits for the comparison.
//   verify_confirm {flow_id}   verify_mismatch {flow_id}
//   verify_cancel {flow_id}           → (m.user) at any step
//   verify_end {flow_id}              → state "done" | "cancelled", code,
//                      reason, by_us. Waits for the flow to end.
//   verify_state {flow_id}            → phase (no wait)
//   device_trust {user, device}       → known, verified, cross_signing_verified,
//                                        local_verified, signed_by_owner
//   user_trust {user}                 → known, verified, was_verified,
//                                        needs_user_approval
// Recovery:
//   recovery_setup                    → recovery_key (the spec's base58 with
//                      spaces), backup_version. Cross-signing if missing,
//                      a new secret storage key (the recovery key) holding
//                      the cross-signing keys, a new key backup whose key
//                      goes there too (bootstrapSecretStorage).
//   backup_wait {min_keys=1}          → version, total, backed_up, server_count.
//                      Waits until every room key this device holds (at
//                      least min_keys) is in the backup on the server.
//   recovery_restore {recovery_key, cross_signing=true}
//                                     → imported, total, backup_version, cross_signed.
//                      Opens secret storage with the key (a key that does
//                      not open it fails and changes nothing), takes the
//                      cross-signing keys from it and signs this device
//                      (unless cross_signing is false), loads the backup
//                      key and restores every room key in the backup.

export function trustCommands(env) {
  const { sdk, cryptoApi, log, waitFor, need, errorText, authWithPassword } = env;
  const { VerificationPhase, VerificationRequestEvent, VerifierEvent, CryptoEvent } = cryptoApi;

  // ------------------------------------------------------------ secret storage

  // The secret storage key the peer holds (a recovery key decoded, or the
  // one recovery_setup made): matrix-js-sdk asks for it through its
  // callbacks whenever it reads or writes a secret.
  let storageKey = null;

  async function keyFor(keys) {
    if (!storageKey) return null;
    for (const [keyId, info] of Object.entries(keys)) {
      if (await env.client.secretStorage.checkKey(storageKey, info)) return [keyId, storageKey];
    }
    return null;
  }

  // Given to sdk.createClient({cryptoCallbacks}).
  const cryptoCallbacks = {
    getSecretStorageKey: async ({ keys }) => keyFor(keys),
    cacheSecretStorageKey: (_keyId, _info, key) => {
      storageKey = key;
    },
  };

  // ------------------------------------------------------------ verification

  // Flows the peer follows, by flow ID: the request, who asked, the
  // verifier once the exchange started, the comparison callbacks once the
  // emoji are known.
  const flows = new Map();
  // Requests from others, as they arrive, until a verify_accept takes one.
  const incoming = [];
  const taken = new WeakSet();

  function attach(client) {
    client.on(CryptoEvent.VerificationRequestReceived, (request) => {
      log("info", `verification request ${request.transactionId} from ${request.otherUserId} ${request.otherDeviceId ?? ""}`);
      incoming.push(request);
    });
  }

  function phaseOf(request) {
    try {
      return request.phase;
    } catch (e) {
      // (the SDK throws for a state between two of its phases)
      return undefined;
    }
  }

  // Takes the steps a side takes by itself, as Element does on its
  // buttons: the side that asked starts the emoji exchange once the other
  // is ready; both sides run the verifier once it started (which accepts
  // an exchange the other side started).
  function follow(request, asked) {
    const flow = { request, asked, starting: false, verifier: null, sas: null, errors: [] };
    const step = () => {
      const phase = phaseOf(request);
      if (phase === VerificationPhase.Ready && asked && !flow.starting) {
        flow.starting = true;
        request.startVerification("m.sas.v1").catch((e) => {
          flow.errors.push(`start: ${errorText(e)}`);
          log("warn", `verification ${request.transactionId}: start failed:`, e);
        });
      }
      if (phase === VerificationPhase.Started && !flow.verifier && request.verifier) {
        const verifier = request.verifier;
        flow.verifier = verifier;
        verifier.on(VerifierEvent.ShowSas, (callbacks) => {
          flow.sas = callbacks;
        });
        flow.sas ??= verifier.getShowSasCallbacks();
        // Resolves at done, rejects at a cancel: the end is read from the
        // request's phase, so a rejection is only kept for the answer.
        verifier.verify().catch((e) => flow.errors.push(`verify: ${errorText(e)}`));
      }
    };
    request.on(VerificationRequestEvent.Change, step);
    step();
    flows.set(request.transactionId, flow);
    return flow;
  }

  function flowOrThrow(args) {
    const id = need(args, "flow_id");
    const flow = flows.get(id);
    if (!flow) throw new Error(`no verification flow ${id} on this peer (known: ${[...flows.keys()].join(", ") || "none"})`);
    return flow;
  }

  function ended(flow) {
    const phase = phaseOf(flow.request);
    return phase === VerificationPhase.Done || phase === VerificationPhase.Cancelled;
  }

  function endOf(flow) {
    const request = flow.request;
    const phase = phaseOf(request);
    if (phase === VerificationPhase.Done) return { state: "done", errors: flow.errors };
    const info = request.inner?.cancelInfo;
    return {
      state: "cancelled",
      code: request.cancellationCode ?? null,
      reason: info?.reason?.() ?? null,
      by_us: info ? info.cancelledbyUs() : null,
      cancelled_by: request.cancellingUserId ?? null,
      errors: flow.errors,
    };
  }

  function phaseName(flow) {
    const phase = phaseOf(flow.request);
    return phase === undefined ? "unknown" : VerificationPhase[phase].toLowerCase();
  }

  function sasOrThrow(flow) {
    if (!flow.sas) throw new Error(`flow ${flow.request.transactionId} is not at the emoji comparison (phase ${phaseName(flow)})`);
    return flow.sas;
  }

  const commands = {
    async verify_request(args, timeoutMs) {
      const crypto = env.crypto;
      const me = env.session.userId;
      const user = args.user ?? me;
      let request;
      if (!args.device) {
        if (user !== me) throw new Error("another user's verification needs a device (in-room verification is not offered here)");
        request = await crypto.requestOwnUserVerification();
      } else {
        // "Not a known device" until the device list has it: fetch it
        // and try again, bounded.
        let last = null;
        request = await waitFor(
          async () => {
            try {
              return await crypto.requestDeviceVerification(user, args.device);
            } catch (e) {
              if (!/not a known device/i.test(e?.message ?? "")) throw e;
              last = e;
              await crypto.getUserDeviceInfo([user], true);
              return undefined;
            }
          },
          timeoutMs,
          () => `${user}'s device ${args.device} to be known (${last ? errorText(last) : "not tried"})`,
        );
      }
      follow(request, true);
      return { flow_id: request.transactionId };
    },

    async verify_accept(args, timeoutMs) {
      const request = await waitFor(
        () =>
          incoming.find(
            (r) =>
              !taken.has(r) &&
              !flows.has(r.transactionId) &&
              (!args.user || r.otherUserId === args.user) &&
              phaseOf(r) === VerificationPhase.Requested,
          ),
        timeoutMs,
        () => `a verification request${args.user ? ` from ${args.user}` : ""} (seen: ${incoming.map((r) => `${r.transactionId} ${phaseOf(r) === undefined ? "?" : VerificationPhase[phaseOf(r)]}`).join(", ") || "none"})`,
      );
      taken.add(request);
      const flow = follow(request, false);
      await request.accept();
      return { flow_id: request.transactionId, other_user: request.otherUserId, other_device: request.otherDeviceId ?? null, phase: phaseName(flow) };
    },

    async verify_sas(args, timeoutMs) {
      const flow = flowOrThrow(args);
      const sas = await waitFor(
        () => {
          if (flow.sas) return flow.sas;
          if (ended(flow)) throw new Error(`flow ${flow.request.transactionId} ended before the comparison: ${JSON.stringify(endOf(flow))}`);
          return undefined;
        },
        timeoutMs,
        () => `the emoji of flow ${flow.request.transactionId} (phase ${phaseName(flow)}; ${flow.errors.join("; ") || "no errors"})`,
      );
      // The wasm Sas behind the verifier knows the emoji's numbers in the
      // spec's table; the SDK's callbacks give symbol and name only.
      const numbers = flow.verifier?.inner?.emojiIndex?.();
      return {
        emoji: (sas.sas.emoji ?? []).map(([symbol, name], i) => ({
          number: numbers ? numbers[i] : null,
          symbol,
          name,
        })),
        decimals: sas.sas.decimal ?? null,
      };
    },

    async verify_confirm(args) {
      await sasOrThrow(flowOrThrow(args)).confirm();
      return {};
    },

    async verify_mismatch(args) {
      sasOrThrow(flowOrThrow(args)).mismatch();
      return {};
    },

    async verify_cancel(args, timeoutMs) {
      const flow = flowOrThrow(args);
      await flow.request.cancel();
      await waitFor(() => ended(flow), timeoutMs, () => `flow ${flow.request.transactionId} to end after the cancel (phase ${phaseName(flow)})`);
      return endOf(flow);
    },

    async verify_end(args, timeoutMs) {
      const flow = flowOrThrow(args);
      await waitFor(
        () => ended(flow),
        timeoutMs,
        () => `flow ${flow.request.transactionId} to end (phase ${phaseName(flow)}; ${flow.errors.join("; ") || "no errors"})`,
      );
      return endOf(flow);
    },

    async verify_state(args) {
      const flow = flowOrThrow(args);
      return { phase: phaseName(flow), has_sas: Boolean(flow.sas), errors: flow.errors };
    },

    async device_trust(args) {
      const user = need(args, "user");
      const device = need(args, "device");
      await env.crypto.getUserDeviceInfo([user], true);
      const status = await env.crypto.getDeviceVerificationStatus(user, device);
      return {
        known: Boolean(status),
        verified: status?.isVerified() ?? false,
        cross_signing_verified: status?.crossSigningVerified ?? false,
        local_verified: status?.localVerified ?? false,
        signed_by_owner: status?.signedByOwner ?? false,
      };
    },

    async user_trust(args) {
      const user = need(args, "user");
      const status = await env.crypto.getUserVerificationStatus(user);
      return {
        known: status.known,
        verified: status.isVerified(),
        was_verified: status.wasCrossSigningVerified(),
        needs_user_approval: status.needsUserApproval,
      };
    },

    // -------------------------------------------------------- recovery

    async recovery_setup(_args, timeoutMs) {
      const crypto = env.crypto;
      // Makes cross-signing if this device cannot sign (an identity made
      // elsewhere is replaced, as Element does when setting up anew).
      await crypto.bootstrapCrossSigning({ authUploadDeviceSigningKeys: authWithPassword });
      const key = await crypto.createRecoveryKeyFromPassphrase();
      storageKey = key.privateKey;
      await crypto.bootstrapSecretStorage({
        createSecretStorageKey: async () => key,
        setupNewSecretStorage: true,
        setupNewKeyBackup: true,
      });
      const version = await waitFor(
        () => crypto.getActiveSessionBackupVersion().then((v) => v ?? undefined),
        timeoutMs,
        () => "the new key backup to be active",
      );
      const status = await crypto.getSecretStorageStatus();
      if (!status.ready) throw new Error(`secret storage is not complete: ${JSON.stringify(status.secretStorageKeyValidityMap)}`);
      return { recovery_key: key.encodedPrivateKey, backup_version: version };
    },

    async backup_wait(args, timeoutMs) {
      const crypto = env.crypto;
      const minKeys = Number(args.min_keys ?? 1);
      let last = {};
      await waitFor(
        async () => {
          const version = await crypto.getActiveSessionBackupVersion();
          const counts = await crypto.olmMachine.roomKeyCounts();
          last = { version, total: Number(counts.total), backed_up: Number(counts.backedUp), server_count: null };
          if (!version || last.total < minKeys || last.backed_up < last.total) return undefined;
          const { rooms } = await env.client.http.authedRequest(sdk.Method.Get, "/room_keys/keys", { version });
          last.server_count = Object.values(rooms ?? {}).reduce((n, room) => n + Object.keys(room.sessions ?? {}).length, 0);
          return last.server_count >= last.total;
        },
        timeoutMs,
        () => `the room keys to be in the backup (${JSON.stringify(last)})`,
      );
      return last;
    },

    async recovery_restore(args) {
      const crypto = env.crypto;
      const secretStorage = env.client.secretStorage;
      const key = cryptoApi.decodeRecoveryKey(need(args, "recovery_key"));
      const defaultKey = await secretStorage.getKey();
      if (!defaultKey) throw new Error("the account has no secret storage key");
      const [keyId, info] = defaultKey;
      if (!(await secretStorage.checkKey(key, info))) {
        throw new Error(`the recovery key does not open secret storage key ${keyId}`);
      }
      storageKey = key;
      let crossSigned = false;
      if (args.cross_signing !== false) {
        // Never a new identity here: only the keys from secret storage.
        const status = await crypto.getCrossSigningStatus();
        if (!status.privateKeysInSecretStorage) throw new Error("secret storage holds no cross-signing keys");
        await crypto.bootstrapCrossSigning({});
        await crypto.userHasCrossSigningKeys(env.session.userId, true);
        const own = await crypto.getDeviceVerificationStatus(env.session.userId, env.session.deviceId);
        crossSigned = own?.signedByOwner ?? false;
      }
      await crypto.loadSessionBackupPrivateKeyFromSecretStorage();
      const result = await crypto.restoreKeyBackup();
      const version = await crypto.checkKeyBackupAndEnable();
      return {
        imported: result.imported,
        total: result.total,
        backup_version: version?.backupInfo?.version ?? null,
        cross_signed: crossSigned,
      };
    },
  };

  return { commands, cryptoCallbacks, attach };
}
