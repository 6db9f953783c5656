"""Warden's HTTP surface: token endpoints, verification, discovery and the user API."""
