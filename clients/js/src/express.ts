/**
 * Express middleware for services behind (or acting as) a gateway, typed against express's
 * types with `import type` only: express is not a runtime dependency of this package.
 */
import type { NextFunction, Request, RequestHandler, Response } from "express";

import { WardenError } from "./errors.js";
import type { TokenVerifier, WardenClaims } from "./verifier.js";

/** What `authenticate` puts in `req.user`. */
export interface WardenUser {
  /** The token's `sub`. */
  userId: string;
  email?: string;
  roles: string[];
  /** `admin` when held, else the first role (seed code checks a single `role`). */
  role?: string;
  /** Services: their client id and scopes. */
  clientId?: string;
  scopes: string[];
  /** Every verified claim. */
  claims: WardenClaims;
}

export type AuthenticatedRequest = Request & { user: WardenUser };

/** The headers `gatewayHeaders` sets for the upstream; client-sent copies are dropped. */
export const GATEWAY_HEADERS = ["x-user-id", "x-user-email", "x-user-role", "x-user-roles"] as const;

type WithUser = Request & { user?: unknown };

export function userFromClaims(claims: WardenClaims): WardenUser {
  const roles = [...claims.roles];
  const user: WardenUser = {
    userId: claims.sub,
    roles,
    scopes: claims.scope ? claims.scope.split(" ").filter(Boolean) : [],
    claims,
  };
  const role = roles.includes("admin") ? "admin" : roles[0];
  if (role !== undefined) user.role = role;
  if (claims.email !== undefined) user.email = claims.email;
  if (claims.client_id !== undefined) user.clientId = claims.client_id;
  return user;
}

/** The user `authenticate` (or `gatewayHeaders`) attached to this request, if any. */
export function wardenUser(req: Request): WardenUser | undefined {
  const user = (req as WithUser).user;
  return isWardenUser(user) ? user : undefined;
}

function isWardenUser(value: unknown): value is WardenUser {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as WardenUser).userId === "string" &&
    Array.isArray((value as WardenUser).roles) &&
    typeof (value as WardenUser).claims === "object"
  );
}

/** The bearer token of `Authorization: Bearer <token>`, if there is one. */
export function bearerToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== "string") return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

function refuse(res: Response, status: number, error: string, description: string): void {
  if (status === 401) {
    // RFC 6750 §3.1: no error code when no token was presented.
    res.setHeader("WWW-Authenticate", error ? `Bearer error="${error}"` : "Bearer");
  }
  res.status(status).json({ error: error || "invalid_token", error_description: description });
}

function verifyRequest(
  verifier: TokenVerifier,
  req: Request,
  res: Response,
  next: NextFunction,
  then: (user: WardenUser) => void,
): void {
  const token = bearerToken(req);
  if (token === undefined) {
    refuse(res, 401, "", "A bearer token is required.");
    return;
  }
  verifier.verify(token).then(
    (claims) => {
      const user = userFromClaims(claims);
      (req as WithUser).user = user;
      then(user);
    },
    (error: unknown) => {
      if (error instanceof WardenError && error.error === "invalid_token") {
        refuse(res, 401, "invalid_token", error.description);
      } else if (error instanceof WardenError) {
        refuse(res, 503, "temporarily_unavailable", "The token cannot be verified now.");
      } else {
        next(error);
      }
    },
  );
}

/**
 * Require a valid Warden access token in `Authorization: Bearer`: 401 JSON
 * `{"error": "invalid_token", "error_description"}` without one, else `req.user` is set.
 */
export function authenticate(verifier: TokenVerifier): RequestHandler {
  return (req, res, next) => {
    verifyRequest(verifier, req, res, next, () => next());
  };
}

/** After `authenticate`: 403 JSON unless the user holds at least one of `roles`. */
export function authorize(...roles: string[]): RequestHandler {
  return (req, res, next) => {
    const user = wardenUser(req);
    if (user === undefined) {
      refuse(res, 401, "", "A bearer token is required.");
      return;
    }
    if (roles.length > 0 && !roles.some((role) => user.roles.includes(role))) {
      res.status(403).json({
        error: "forbidden",
        error_description: `Requires one of the roles: ${roles.join(", ")}.`,
      });
      return;
    }
    next();
  };
}

/** The identity headers for an upstream: `x-user-id`, `x-user-role`, `x-user-roles`, ... */
export function identityHeaders(user: WardenUser): Record<string, string> {
  const headers: Record<string, string> = {
    "x-user-id": user.userId,
    "x-user-role": user.role ?? "",
    "x-user-roles": user.roles.join(","),
  };
  if (user.email !== undefined) headers["x-user-email"] = user.email;
  return headers;
}

/**
 * For a gateway that proxies on: drops any `x-user-*` identity headers the client sent, then
 * sets them from the verified token (`req.user` when `authenticate` ran first; otherwise the
 * token is verified here, with `authenticate`'s 401s).
 */
export function gatewayHeaders(verifier: TokenVerifier): RequestHandler {
  return (req, res, next) => {
    for (const name of GATEWAY_HEADERS) delete req.headers[name];
    const set = (user: WardenUser) => {
      Object.assign(req.headers, identityHeaders(user));
      next();
    };
    const known = wardenUser(req);
    if (known !== undefined) set(known);
    else verifyRequest(verifier, req, res, next, set);
  };
}
