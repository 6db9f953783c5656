"""OAuth 2.0 endpoints: token, introspection, revocation, and the metadata that points at them."""
