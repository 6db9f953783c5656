import {
  type JWTPayload,
  type JWTVerifyGetKey,
  type ProtectedHeaderParameters,
  createRemoteJWKSet,
  customFetch,
  errors as joseErrors,
  jwtVerify,
} from "jose";

import { WardenError } from "./errors.js";
import type { FeedSource, RevocationFeed } from "./feed.js";
import { type FetchLike, trimBase } from "./http.js";

/** The claims of a verified Warden access token. */
export interface WardenClaims {
  iss: string;
  aud: string | string[];
  /** The user's public id, or the service client's id. */
  sub: string;
  exp: number;
  iat: number;
  jti: string;
  token_type: "access";
  /** Users: */
  email?: string;
  roles: string[];
  sid?: string;
  /** Services (client credentials): */
  client_id?: string;
  scope?: string;
  [claim: string]: unknown;
}

export interface TokenVerifierOptions {
  /** Where Warden serves `/.well-known/jwks.json` (may be an internal address). */
  baseUrl: string;
  /** Warden's WARDEN_ISSUER, exactly as it appears in the tokens' `iss`. */
  issuer: string;
  /** Warden's WARDEN_AUDIENCE; Warden's default is `warden`. */
  audience: string | string[];
  /** Accepted signing algorithms (default `["RS256", "ES256"]`); anything else is refused. */
  algorithms?: string[];
  /** Seconds of clock skew allowed on `exp`/`iat` (default 30, as Warden's own leeway). */
  clockTolerance?: number;
  /** The JWKS address, when it is not `${baseUrl}/.well-known/jwks.json`. */
  jwksUrl?: string;
  /** Defaults to the global `fetch`. Used for the JWKS only. */
  fetch?: FetchLike;
  /** Milliseconds to wait for the JWKS (default 5000). */
  jwksTimeout?: number;
  /** Refetch the JWKS for an unknown `kid` at most this often, in ms (default 30000). */
  jwksCooldown?: number;
  /**
   * Refuse revoked sessions' and tokens' tokens without a request per token: a feed with a
   * receiver's credentials (scope `ssf:poll`). The verifier starts it; `close()` stops it.
   */
  revocationFeed?: RevocationFeed;
}

/** jose's codes for a token that is not acceptable (as opposed to keys that cannot be had). */
const INVALID_TOKEN_CODES = new Set<string>([
  "ERR_JOSE_ALG_NOT_ALLOWED",
  "ERR_JOSE_NOT_SUPPORTED",
  "ERR_JWS_INVALID",
  "ERR_JWT_INVALID",
  "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
  "ERR_JWT_CLAIM_VALIDATION_FAILED",
  "ERR_JWT_EXPIRED",
  "ERR_JWKS_NO_MATCHING_KEY",
  "ERR_JWKS_MULTIPLE_MATCHING_KEYS",
  "ERR_JWK_INVALID",
]);

/** Headers that would let a token name its own key; Warden never sends them. */
const KEY_HEADERS = ["jku", "x5u", "jwk", "x5c"] as const;

function invalid(description: string, cause?: unknown): WardenError {
  return new WardenError("invalid_token", description, 401, { cause });
}

/**
 * Verifies Warden access tokens locally, against Warden's published keys (JWKS, fetched once,
 * cached, refetched for an unknown `kid`). Checks: the signature with a pinned algorithm,
 * `iss`, `aud`, `exp`/`iat`, header `typ: at+jwt` and claim `token_type: access` (so refresh
 * and MFA tokens are refused).
 *
 * Alone it cannot see a logout before the token expires; with `revocationFeed` it refuses
 * revoked sessions' and tokens' tokens about a second after Warden revoked them.
 *
 * Throws a WardenError: `invalid_token` (status 401) for a token that is not acceptable,
 * `temporarily_unavailable` (status 503) when the keys cannot be fetched (or the feed, with
 * `failClosedAfter`, is too stale).
 */
export class TokenVerifier {
  readonly baseUrl: string;
  readonly issuer: string;
  readonly audience: string | string[];
  readonly algorithms: readonly string[];
  readonly jwksUrl: URL;
  readonly revocationFeed: RevocationFeed | undefined;
  private readonly clockTolerance: number;
  private readonly keys: JWTVerifyGetKey;

  constructor(options: TokenVerifierOptions) {
    if (!options.issuer) throw new TypeError("issuer is required");
    if (!options.audience || options.audience.length === 0) {
      throw new TypeError("audience is required (Warden's default is \"warden\")");
    }
    const algorithms = options.algorithms ?? ["RS256", "ES256"];
    if (algorithms.length === 0 || algorithms.some((alg) => !alg || alg.toLowerCase() === "none")) {
      throw new TypeError("algorithms must name real signing algorithms");
    }
    this.issuer = options.issuer;
    this.audience = options.audience;
    this.algorithms = Object.freeze([...algorithms]);
    this.clockTolerance = options.clockTolerance ?? 30;
    this.baseUrl = trimBase(options.baseUrl);
    this.jwksUrl = new URL(options.jwksUrl ?? `${this.baseUrl}/.well-known/jwks.json`);
    const fetchImpl = options.fetch;
    this.keys = createRemoteJWKSet(this.jwksUrl, {
      timeoutDuration: options.jwksTimeout ?? 5000,
      cooldownDuration: options.jwksCooldown ?? 30_000,
      ...(fetchImpl ? { [customFetch]: (url: string, init: RequestInit) => fetchImpl(url, init) } : {}),
    });
    this.revocationFeed = options.revocationFeed;
    if (this.revocationFeed !== undefined) {
      // The feed checks SETs with this verifier's keys (the same cached JWKS) and issuer.
      const source: FeedSource = {
        baseUrl: this.baseUrl,
        issuer: this.issuer,
        algorithms: this.algorithms,
        keys: this.keys,
      };
      this.revocationFeed.attach(source);
      this.revocationFeed.start();
    }
  }

  /** Stop the revocation feed's polling, if there is a feed. */
  close(): void {
    this.revocationFeed?.stop();
  }

  /** The verified claims of an access token, or a WardenError. */
  async verify(token: string): Promise<WardenClaims> {
    if (typeof token !== "string" || token.length === 0) throw invalid("No token.");
    let payload: JWTPayload;
    let header: ProtectedHeaderParameters;
    try {
      ({ payload, protectedHeader: header } = await jwtVerify(token, this.keys, {
        issuer: this.issuer,
        audience: this.audience,
        algorithms: [...this.algorithms],
        typ: "at+jwt",
        clockTolerance: this.clockTolerance,
        requiredClaims: ["iss", "aud", "sub", "exp", "iat", "jti"],
      }));
    } catch (error) {
      throw this.translate(error);
    }
    if (KEY_HEADERS.some((name) => name in header)) {
      throw invalid("The token names its own key.");
    }
    const claims = this.claimsOf(payload);
    this.revocationFeed?.check(claims, header.kid);
    return claims;
  }

  private claimsOf(payload: JWTPayload): WardenClaims {
    if (payload.token_type !== "access") throw invalid("Not an access token.");
    const { sub, exp, iat, jti, iss, aud } = payload;
    if (
      typeof sub !== "string" ||
      typeof exp !== "number" ||
      typeof iat !== "number" ||
      typeof jti !== "string" ||
      typeof iss !== "string" ||
      aud === undefined
    ) {
      throw invalid("The token lacks a required claim.");
    }
    for (const name of ["email", "sid", "client_id", "scope"] as const) {
      if (name in payload && typeof payload[name] !== "string") {
        throw invalid(`The ${name} claim is malformed.`);
      }
    }
    const roles = payload.roles ?? [];
    if (!Array.isArray(roles) || !roles.every((role) => typeof role === "string")) {
      throw invalid("The roles claim is malformed.");
    }
    return { ...payload, iss, aud, sub, exp, iat, jti, token_type: "access", roles } as WardenClaims;
  }

  private translate(error: unknown): WardenError {
    if (error instanceof joseErrors.JWTExpired) return invalid("The token has expired.", error);
    if (error instanceof joseErrors.JWTClaimValidationFailed) {
      return invalid(`The token's ${error.claim} claim is not acceptable.`, error);
    }
    if (error instanceof joseErrors.JOSEError && INVALID_TOKEN_CODES.has(error.code)) {
      const description =
        error instanceof joseErrors.JWSSignatureVerificationFailed
          ? "The token's signature does not verify."
          : error instanceof joseErrors.JOSEAlgNotAllowed
            ? "The token's algorithm is not accepted."
            : error instanceof joseErrors.JWKSNoMatchingKey
              ? "The token was not signed by a key Warden publishes."
              : `The token is not acceptable (${error.code}).`;
      return invalid(description, error);
    }
    const reason = error instanceof Error ? error.message : String(error);
    return new WardenError(
      "temporarily_unavailable",
      `Cannot get Warden's signing keys from ${this.jwksUrl.href}: ${reason}`,
      503,
      { cause: error },
    );
  }
}
