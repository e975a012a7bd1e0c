// A real OpenID Connect provider (npm `oidc-provider`, panva) on
// 127.0.0.1 for the SSO tests: one confidential client for Synapse, and
// the package's own development login and consent pages, which accept any
// login name (it becomes the `sub` claim) and any password.
//
//   node scripts/oidc_provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI
//
// Started and stopped by scripts/homeserver.py (`start --sso`); prints
// `ready` once it listens. Test use only: the signing keys are generated
// at start and the login page checks no password.
import { createRequire } from "node:module";
import path from "node:path";

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const modules = process.env.OIDC_PROVIDER_MODULES;
const require = createRequire(path.join(modules, "noop.js"));
const { default: Provider } = await import(require.resolve("oidc-provider"));

const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, name: id, preferred_username: id };
      },
    };
  },
  claims: { openid: ["sub"], profile: ["name", "preferred_username"] },
  pkce: { required: () => false },
  features: { devInteractions: { enabled: true } },
});
provider.proxy = false;
// Synapse does not send the id_token hint etc.; quiet the dev warnings.
process.on("SIGTERM", () => process.exit(0));
provider.listen(Number(port), "127.0.0.1", () => {
  console.log("ready");
});
