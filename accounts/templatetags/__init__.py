"""Template tags for Warden's admin pages."""
