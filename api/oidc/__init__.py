"""Warden as an OpenID Provider, over HTTP: the pages browsers are sent to, and the JSON
endpoints apps call (userinfo, device authorization, PAR, registration)."""
