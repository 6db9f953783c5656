// Shared by the node tests: the live Warden the pytest wrapper (tests/client/test_js_sdk.py)
// started, the accounts it made, and fetch/clock doubles that count and steer.
import { createHmac } from "node:crypto";
import { createServer } from "node:net";

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run these through tests/client/test_js_sdk.py`);
  return value;
}

export const live = {
  url: required("WARDEN_URL"),
  issuer: process.env.WARDEN_ISSUER || required("WARDEN_URL"),
  audience: process.env.WARDEN_AUDIENCE || "warden",
  userEmail: required("WARDEN_USER_EMAIL"),
  adminEmail: required("WARDEN_ADMIN_EMAIL"),
  totpEmail: required("WARDEN_TOTP_EMAIL"),
  totpSecret: required("WARDEN_TOTP_SECRET"),
  password: required("WARDEN_PASSWORD"),
  clientId: required("WARDEN_CLIENT_ID"),
  clientSecret: required("WARDEN_CLIENT_SECRET"),
  clientScope: process.env.WARDEN_CLIENT_SCOPE || "inventory:read",
  // A revocation-feed receiver: a service client holding ssf:poll.
  receiverId: required("WARDEN_RECEIVER_ID"),
  receiverSecret: required("WARDEN_RECEIVER_SECRET"),
};

/** Resolves true once `predicate()` holds (checked every 10 ms), false after `within` ms. */
export async function until(predicate, within) {
  const deadline = performance.now() + within;
  while (performance.now() < deadline) {
    if (await predicate()) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return Boolean(await predicate());
}

/** A loopback port nothing listens on (it was free a moment ago). */
export async function closedPort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A fetch that records every request, then sends it for real. */
export function countingFetch() {
  const calls = [];
  const counting = async (input, init = {}) => {
    calls.push({
      url: String(input),
      path: new URL(String(input)).pathname,
      method: init.method ?? "GET",
      headers: new Headers(init.headers),
      body: init.body,
    });
    return fetch(input, init);
  };
  counting.calls = calls;
  counting.to = (path) => calls.filter((call) => call.path === path);
  return counting;
}

/** A clock for the SDK that moves only when told to. */
export function manualClock() {
  let now = Date.now();
  const clock = () => now;
  clock.advance = (seconds) => {
    now += seconds * 1000;
  };
  return clock;
}

/** POST JSON to Warden without the SDK. */
export async function postJson(path, body) {
  const response = await fetch(`${live.url}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

function base32(secret) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const char of secret.replace(/=+$/, "").toUpperCase()) {
    const value = alphabet.indexOf(char);
    if (value < 0) throw new Error(`not base32: ${char}`);
    bits += value.toString(2).padStart(5, "0");
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** The code an authenticator app shows now (RFC 6238: SHA-1, 30 s, 6 digits). */
export async function totpCode(secret) {
  const remaining = 30 - ((Date.now() / 1000) % 30);
  if (remaining < 1.5) await new Promise((resolve) => setTimeout(resolve, remaining * 1000 + 50));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30)));
  const digest = createHmac("sha1", base32(secret)).update(counter).digest();
  const offset = digest[digest.length - 1] & 0x0f;
  const value = (digest.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, "0");
}

/** base64url-decoded JSON of one part of a JWT. */
export function jwtPart(token, index) {
  return JSON.parse(Buffer.from(token.split(".")[index], "base64url").toString());
}

export function b64url(object) {
  return Buffer.from(JSON.stringify(object)).toString("base64url");
}
