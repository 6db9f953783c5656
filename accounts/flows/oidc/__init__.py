"""Warden as an OpenID Provider: one module per step (clients, authorize, codes, logout, device).

Why not allauth.idp.oidc (65.21.1): its tokens, sessions and revocation are its own (its
`Token` model, its JWT access tokens signed with one configured key), so an app's tokens would
not be Warden's: not in the key ring's JWKS rotation, not ended by Warden's session revocation,
not seen by verify or introspection. It also issues codes for `plain` PKCE, answers an
unregistered redirect_uri's error page with 200, does not form-decode HTTP Basic credentials,
leaves `auth_time`/`amr`/`sid` out of ID tokens, and a reused code does not revoke what the
code issued. Here every token comes from accounts/flows/sessions.py and accounts/tokens/.
"""
