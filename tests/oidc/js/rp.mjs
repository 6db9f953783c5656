// openid-client against a live Warden. Lines of JSON out; the test answers on stdin.
//   node rp.mjs code ISSUER CLIENT_ID REDIRECT_URI   -> {"url"}; reads the callback URL
//   node rp.mjs device ISSUER CLIENT_ID              -> {"user_code", ...}; polls
import * as client from "openid-client";
import { createInterface } from "node:readline";

const [mode, issuer, clientId, redirectUri] = process.argv.slice(2);
const say = (value) => process.stdout.write(JSON.stringify(value) + "\n");
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

// Warden runs on an http loopback issuer in the tests; openid-client refuses http unless told.
const config = await client.discovery(new URL(issuer), clientId, undefined, client.None(), {
  execute: [client.allowInsecureRequests],
});

if (mode === "code") {
  const verifier = client.randomPKCECodeVerifier();
  const challenge = await client.calculatePKCECodeChallenge(verifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: "openid email profile roles",
    code_challenge: challenge,
    code_challenge_method: "S256",
    state,
    nonce,
  });
  say({ url: url.href });
  const callback = (await lines.next()).value;
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
  });
  const claims = tokens.claims();
  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  say({ claims, info, refreshed: Boolean(refreshed.access_token) });
} else if (mode === "device") {
  const started = await client.initiateDeviceAuthorization(config, { scope: "openid email" });
  say(started);
  const tokens = await client.pollDeviceAuthorizationGrant(config, started);
  say({ claims: tokens.claims() });
}
process.exit(0);
