"""The only code that signs or checks tokens: key ring, JWTs, revocation state, secrets.

`keyring` holds the signing keys, `jwt` the token classes, `opaque` the refresh tokens,
`idtoken` the OpenID ID and logout tokens, `revocation` what verify asks about sessions,
clients and revoked tokens, `check` the access-token check, `secrets` everything sealed or
hashed at rest, `google` the Google ID tokens Warden accepts. The names below are the
package's API; `tokens.keyring` is the process's KeyRing (import the module's other names from
`accounts.tokens.keyring` itself).
"""

from accounts.tokens import idtoken, opaque
from accounts.tokens.audience import (
    ANY_AUDIENCE,
    Audience,
    Grant,
    audience_find,
    default_audience,
    primary_role,
    profile_claims,
    token_lifetime,
)
from accounts.tokens.check import access_token_check, act_chain, subject_type
from accounts.tokens.jwt import (
    ACCESS_TYP,
    MFA_TYP,
    AccessToken,
    MfaToken,
    ServiceAccessToken,
    TokenInvalid,
    Tokens,
    access_token_exchanged,
    access_token_for_client,
    access_token_for_user,
    mfa_token_for_user,
)
from accounts.tokens.keyring import (
    ALGORITHMS,
    keyring,
    longest_token_lifetime,
    signing_key_ensure,
    signing_key_for_algorithm_ensure,
    signing_key_generate,
)
from accounts.tokens.revocation import cache_is_shared, mark_client_state, mark_session_dead
from accounts.tokens.secrets import new_secret, secret_digest, secret_matches

__all__ = [
    "ACCESS_TYP",
    "ALGORITHMS",
    "ANY_AUDIENCE",
    "MFA_TYP",
    "AccessToken",
    "Audience",
    "Grant",
    "MfaToken",
    "ServiceAccessToken",
    "TokenInvalid",
    "Tokens",
    "access_token_check",
    "access_token_exchanged",
    "access_token_for_client",
    "access_token_for_user",
    "act_chain",
    "audience_find",
    "cache_is_shared",
    "default_audience",
    "idtoken",
    "keyring",
    "longest_token_lifetime",
    "mark_client_state",
    "mark_session_dead",
    "mfa_token_for_user",
    "new_secret",
    "opaque",
    "primary_role",
    "profile_claims",
    "secret_digest",
    "secret_matches",
    "signing_key_ensure",
    "signing_key_for_algorithm_ensure",
    "signing_key_generate",
    "subject_type",
    "token_lifetime",
]
