// Type-checked only (tsc -p test/tsconfig.json, run by tests/client/test_js_sdk.py): the
// README's example, as a consumer of the package would write it, against the built dist/.
import express, { type Request, type Response } from "express";

import {
  type AuthenticatedRequest,
  AuthClient,
  RevocationFeed,
  ServiceAuthClient,
  TokenVerifier,
  WardenError,
  type WardenClaims,
  authenticate,
  authorize,
  gatewayHeaders,
  wardenUser,
} from "@warden/client";

export async function readmeExample(
  password: string,
  totpCode: string,
  clientId: string,
  clientSecret: string,
  token: string,
  receiverId: string,
  receiverSecret: string,
): Promise<WardenClaims> {
  const ann = new AuthClient({ baseUrl: "https://auth.example.com" });
  const result = await ann.login("ann@example.com", password);
  if (result.mfaRequired) await ann.completeMfa(result.mfaToken, totpCode);
  await fetch("https://api.example.com/orders/", { headers: await ann.authHeader() });
  await ann.logout();
  try {
    await ann.getAccessToken();
  } catch (error) {
    if (!(error instanceof WardenError) || error.error !== "invalid_grant") throw error;
  }

  const orders = new ServiceAuthClient({
    baseUrl: "http://warden.internal:8000",
    clientId,
    clientSecret,
    scope: "inventory:read",
  });
  await fetch("http://inventory/items", { headers: await orders.authHeader() });

  const verifier = new TokenVerifier({
    baseUrl: "http://warden.internal:8000",
    issuer: "https://auth.example.com",
    audience: "warden",
    revocationFeed: new RevocationFeed({
      clientId: receiverId,
      clientSecret: receiverSecret,
      interval: 250,
      failClosedAfter: 30_000,
    }),
  });
  const claims = await verifier.verify(token);
  const { healthy, failures, staleness, eventsApplied } = verifier.revocationFeed!;
  const health: [boolean, number, number, number] = [healthy, failures, staleness, eventsApplied];
  void health;
  process.once("SIGTERM", () => verifier.close());
  const roles: string[] = claims.roles;
  const email: string | undefined = claims.email;
  void roles;
  void email;

  const app = express();
  const listUsers = (req: Request, res: Response) => {
    const user = (req as AuthenticatedRequest).user;
    res.json({ id: user.userId, role: user.role, also: wardenUser(req)?.email });
  };
  app.get("/admin/users", authenticate(verifier), authorize("admin"), listUsers);
  app.use("/api/orders", gatewayHeaders(verifier), (_req, res) => res.end());
  return claims;
}
