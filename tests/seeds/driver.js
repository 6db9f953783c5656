// Runs the seeds' own client code (the seed*.js/ts files, verbatim) against a live Warden.
// tests/seeds/test_seeds_node.py starts Warden and passes it in WARDEN_* variables; each check
// prints "ok <name>", and any failure exits non-zero.
'use strict';
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const http = require('node:http');
const axios = require('axios');
const express = require('express');
const jwt = require('jsonwebtoken');
const proxy = require('express-http-proxy');
const { loadSnippets } = require('./load');

const env = process.env;
const WARDEN = env.WARDEN_URL;
const PASSWORD = env.WARDEN_PASSWORD;
const USER = env.WARDEN_USER_EMAIL;
const ADMIN = env.WARDEN_ADMIN_EMAIL;
const ACCESS_LIFETIME = Number(env.WARDEN_ACCESS_TOKEN_LIFETIME);
const GRACE = Number(env.WARDEN_REFRESH_REUSE_GRACE);

const sleep = (seconds) => new Promise((done) => setTimeout(done, seconds * 1000));
const claimsOf = (token) => jwt.decode(token);
const statusOf = (promise) =>
  promise.then(
    (response) => response.status,
    (error) => (error.response ? error.response.status : Promise.reject(error)),
  );

async function wardenVerifies(token) {
  const answer = await axios.get(`${WARDEN}/api/auth/verify`, {
    headers: { Authorization: `Bearer ${token}` },
    validateStatus: () => true,
  });
  return answer.status === 200 && answer.data.active === true;
}

const checks = [];
const check = (name, run) => checks.push({ name, run });

// --- Seed 002: the API contract, exactly as the document writes it ---------------------------

check('seed002 login, validate, refresh', async () => {
  const login = await axios.post(`${WARDEN}/api/auth/login`, { username: USER, password: PASSWORD });
  assert.ok(login.data.access_token && login.data.refresh_token);
  assert.equal(login.data.expires_in, ACCESS_LIFETIME);
  const validate = await axios.get(`${WARDEN}/api/auth/validate`, {
    headers: { Authorization: `Bearer ${login.data.access_token}` },
  });
  assert.equal(validate.data.active, true);
  assert.deepEqual(validate.data.roles, ['user']);
  const refresh = await axios.post(`${WARDEN}/api/auth/refresh`, {
    refresh_token: login.data.refresh_token,
  });
  assert.ok(await wardenVerifies(refresh.data.access_token));
});

// --- Seed 000: AuthClient (TypeScript), authServerUrl = http://HOST/api/auth -------------------

check('seed000 AuthClient refreshes when its token expires', async () => {
  const { AuthClient } = loadSnippets(['seed000_auth_client.ts'], { exports: ['AuthClient'] });
  const login = await axios.post(`${WARDEN}/api/auth/login`, { email: USER, password: PASSWORD });
  const client = new AuthClient(login.data.refresh_token, `${WARDEN}/api/auth`);
  const first = await client.getAccessToken();
  assert.ok(await wardenVerifies(first));
  assert.equal(await client.getAccessToken(), first); // not expired: no refresh
  await sleep(claimsOf(first).exp - Date.now() / 1000 + 0.2);
  const second = await client.getAccessToken();
  assert.notEqual(second, first);
  assert.ok(await wardenVerifies(second));
  // It kept the rotated refresh token ("Update if refreshed"), so it can go on refreshing.
  await sleep(claimsOf(second).exp - Date.now() / 1000 + 0.2);
  assert.ok(await wardenVerifies(await client.getAccessToken()));
});

// --- Seed 001: AuthClient (JavaScript) with client_id/client_secret, password grant ------------

// The one-line changes README "Coming from the seeds" recommends, as written there.
const KEEP_NEW_REFRESH_TOKEN = {
  '    this.accessToken = response.data.access_token;\n  }\n  // Middleware':
    '    this.accessToken = response.data.access_token;\n' +
    '    this.refreshToken = response.data.refresh_token;\n  }\n  // Middleware',
};
const CHECK_EXPIRY = {
  'return false; // Simplified for illustration':
    "return !this.accessToken || JSON.parse(Buffer.from(this.accessToken.split('.')[1], 'base64url')).exp - 30 < Date.now() / 1000;",
};

function seed001Client({ fixes = [] } = {}) {
  const { AuthClient } = loadSnippets(['seed001_auth_client.js'], {
    exports: ['AuthClient'],
    replace: Object.assign({}, ...fixes),
  });
  return loadSnippets(['seed001_usage.js'], {
    scope: { AuthClient, axios },
    replace: {
      "'https://auth.example.com'": `'${WARDEN}/api/auth'`,
      "'my-client-id'": `'${env.WARDEN_CLIENT_ID}'`,
      "'my-secret'": `'${env.WARDEN_CLIENT_SECRET}'`,
      "'https://api.example.com/user'": `'${WARDEN}/api/auth/me'`,
    },
    exports: ['authClient', 'fetchUserData'],
  });
}

check('seed001 as written: login, calls, one refresh; the kept token ends the session', async () => {
  const { authClient, fetchUserData } = seed001Client();
  await authClient.login(USER, PASSWORD);
  assert.equal((await fetchUserData()).email, USER);
  await authClient.refresh();
  assert.equal((await fetchUserData()).email, USER);
  // refresh() keeps the spent refresh token: once the repeat grace is over, using it again is
  // refresh-token reuse, which revokes the session (RFC 9700 §4.14.2).
  await sleep(GRACE + 0.3);
  assert.equal(await statusOf(authClient.refresh()), 400);
  assert.equal(await statusOf(fetchUserData()), 401);
});

check('seed001 with the one-line fix refreshes as often as it likes', async () => {
  const { authClient, fetchUserData } = seed001Client({ fixes: [KEEP_NEW_REFRESH_TOKEN] });
  await authClient.login(USER, PASSWORD);
  for (let round = 0; round < 2; round += 1) {
    await sleep(GRACE + 0.3);
    await authClient.refresh();
    assert.equal((await fetchUserData()).email, USER);
  }
  // isTokenExpired() always says false, so authHeader() never refreshes: an expired token goes out.
  await sleep(claimsOf(authClient.accessToken).exp - Date.now() / 1000 + 0.2);
  assert.equal(await statusOf(fetchUserData()), 401);
});

check('seed001 with both one-line fixes renews an expired token itself', async () => {
  const { authClient, fetchUserData } = seed001Client({ fixes: [KEEP_NEW_REFRESH_TOKEN, CHECK_EXPIRY] });
  await authClient.login(USER, PASSWORD);
  const first = authClient.accessToken;
  await sleep(claimsOf(first).exp - Date.now() / 1000 + 0.2);
  assert.equal((await fetchUserData()).email, USER);
  assert.notEqual(authClient.accessToken, first);
});

// --- Seed 003: central auth API, gateway, RBAC, service tokens ---------------------------------

async function seed003Login(email) {
  const answer = await axios.post(`${WARDEN}/auth/login`, { email, password: PASSWORD });
  return answer.data;
}

// The PEM of the JWKS key that signed `token`: what an operator would paste into JWT_SECRET.
async function wardenPublicKeyPem(token) {
  const { kid } = jwt.decode(token, { complete: true }).header;
  const jwks = (await axios.get(`${WARDEN}/.well-known/jwks.json`)).data;
  const jwk = jwks.keys.find((key) => key.kid === kid);
  return crypto.createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
}

function listen(app) {
  return new Promise((resolve) => {
    const server = http.createServer(app).listen(0, '127.0.0.1', () => resolve(server));
  });
}

const urlOf = (server) => `http://127.0.0.1:${server.address().port}`;

check('seed003 gateway verifies Warden tokens with the public key, RBAC by role', async () => {
  const seen = [];
  const upstream = await listen((req, res) => {
    seen.push({ path: req.url, userId: req.headers['x-user-id'], role: req.headers['x-user-role'] });
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ upstream: true }));
  });
  const user = await seed003Login(USER);
  const admin = await seed003Login(ADMIN);
  process.env.JWT_SECRET = await wardenPublicKeyPem(user.token); // what the gateway verifies with
  const { app } = loadSnippets(['seed003_gateway.js', 'seed003_rbac.js'], {
    scope: {
      proxy,
      // The seed's routes name the gateway's middleware `authenticate`; app.use above already ran.
      authenticate: (req, res, next) => next(),
      User: { find: async () => [{ email: ADMIN }] },
      Order: { create: async (body) => ({ id: 1, ...body }) },
    },
    replace: {
      "'http://order-service'": `'${urlOf(upstream)}'`,
      "'http://product-service'": `'${urlOf(upstream)}'`,
    },
    exports: ['app'],
  });
  const gateway = await listen(app);
  const GW = urlOf(gateway);
  try {
    const as = (token) => ({ headers: { Authorization: `Bearer ${token}` }, validateStatus: () => true });

    const order = await axios.get(`${GW}/api/orders/42`, as(user.token));
    assert.equal(order.status, 200);
    assert.deepEqual(seen.at(-1), { path: '/42', userId: user.user.userId, role: 'user' });
    await axios.get(`${GW}/api/products/7`, as(admin.token));
    assert.deepEqual(seen.at(-1), { path: '/7', userId: admin.user.userId, role: 'admin' });

    assert.equal((await axios.get(`${GW}/admin/users`, as(user.token))).status, 403);
    const users = await axios.get(`${GW}/admin/users`, as(admin.token));
    assert.equal(users.status, 200);
    assert.deepEqual(users.data, [{ email: ADMIN }]);
    const created = await axios.post(`${GW}/orders`, { item: 'tea' }, as(user.token));
    assert.equal(created.status, 200);
    assert.equal(created.data.id, 1); // no body: the seed's app never adds express.json()

    const none = await axios.get(`${GW}/api/orders/1`, { validateStatus: () => true });
    assert.equal(none.status, 401);
    assert.deepEqual(none.data, { error: 'No token provided' });
    // A token signed with a secret (HS256) is refused: the gateway holds a public key only.
    const forged = jwt.sign({ userId: admin.user.userId, role: 'admin' }, process.env.JWT_SECRET);
    assert.equal((await axios.get(`${GW}/admin/users`, as(forged))).status, 401);

    // A refreshed token keeps the names the gateway reads.
    const refreshed = await axios.post(`${WARDEN}/auth/refresh`, { refreshToken: admin.refreshToken });
    assert.ok(refreshed.data.refreshToken !== admin.refreshToken);
    assert.equal((await axios.get(`${GW}/admin/users`, as(refreshed.data.accessToken))).status, 200);
  } finally {
    gateway.close();
    upstream.close();
  }
});

check('seed003 verifyToken asks /auth/verify', async () => {
  const { verifyToken } = loadSnippets(['seed003_verify_client.js'], {
    scope: { axios },
    replace: { "'http://auth-service/auth/verify'": `'${WARDEN}/auth/verify'` },
    exports: ['verifyToken'],
  });
  const user = await seed003Login(USER);
  const answer = await verifyToken(user.token);
  assert.equal(answer.valid, true);
  assert.equal(answer.user.userId, user.user.userId);
  assert.equal(answer.user.role, 'user');
  assert.deepEqual(await verifyToken('not-a-token'), { valid: false });
  await axios.post(`${WARDEN}/api/auth/logout`, { refresh_token: user.refreshToken });
  assert.deepEqual(await verifyToken(user.token), { valid: false }); // revoked at once
});

check('seed003 ServiceAuthClient tokens are refused; client credentials replace them', async () => {
  const { ServiceAuthClient } = loadSnippets(['seed003_service_auth_client.js'], {
    scope: { jwt, axios },
    exports: ['ServiceAuthClient'],
  });
  const { verifyToken } = loadSnippets(['seed003_verify_client.js'], {
    scope: { axios },
    replace: { "'http://auth-service/auth/verify'": `'${WARDEN}/auth/verify'` },
    exports: ['verifyToken'],
  });
  const selfSigned = new ServiceAuthClient('order-service', 'a-shared-secret').generateToken();
  assert.deepEqual(await verifyToken(selfSigned), { valid: false });
  assert.equal(await wardenVerifies(selfSigned), false);
  // The replacement: the service's own client credentials, at the token endpoint.
  const issued = await axios.post(
    `${WARDEN}/api/auth/token`,
    new URLSearchParams({ grant_type: 'client_credentials', scope: 'inventory:read' }),
    { auth: { username: env.WARDEN_CLIENT_ID, password: env.WARDEN_CLIENT_SECRET } },
  );
  const answer = await verifyToken(issued.data.access_token);
  assert.equal(answer.valid, true);
  assert.equal(answer.user.client_id, env.WARDEN_CLIENT_ID);
});

(async () => {
  const only = process.argv.slice(2);
  let failed = 0;
  for (const { name, run } of checks) {
    if (only.length && !only.some((part) => name.startsWith(part))) continue;
    try {
      await run();
      console.log(`ok ${name}`);
    } catch (error) {
      failed += 1;
      const detail = error.response
        ? `${error.message}: ${error.config?.method} ${error.config?.url} -> ${JSON.stringify(error.response.data)}`
        : error.stack;
      console.log(`not ok ${name}\n${detail}`);
    }
  }
  process.exitCode = failed ? 1 : 0;
})();
