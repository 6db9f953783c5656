"""OpenID Provider records: client registrations, codes, consents, device and pushed requests.

Only models (and their admin); what Warden does with them is in accounts/flows/oidc/, the HTTP
surface in api/oidc/. The client itself is an accounts.ServiceClient (one client model: one
authentication path, one `client` on sessions and audit events); `OidcClient` adds what a web
app or CLI registers on top of it.
"""
