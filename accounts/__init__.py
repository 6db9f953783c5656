"""Users, roles, sessions, service clients, signing keys and the audit trail."""
