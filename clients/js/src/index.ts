export { WardenError } from "./errors.js";
export type { FetchLike, TokenResponse } from "./http.js";
export {
  AuthClient,
  type AuthClientOptions,
  type LoginResult,
  type MfaChallenge,
  type SignedIn,
} from "./auth-client.js";
export { ServiceAuthClient, type ServiceAuthClientOptions } from "./service-client.js";
export { TokenVerifier, type TokenVerifierOptions, type WardenClaims } from "./verifier.js";
export {
  type FeedLogger,
  RevocationFeed,
  type RevocationFeedOptions,
} from "./feed.js";
export {
  type AuthenticatedRequest,
  type WardenUser,
  GATEWAY_HEADERS,
  authenticate,
  authorize,
  bearerToken,
  gatewayHeaders,
  identityHeaders,
  userFromClaims,
  wardenUser,
} from "./express.js";
