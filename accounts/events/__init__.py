"""Revocation events (Shared Signals): the outbox the flows write to, and its delivery.

`outbox` records each revocation as a SecurityEvent in the revoking transaction and fans it out
to every receiver (an active service client holding the scope `ssf:poll`); `stream` answers a
receiver's polls (RFC 8936); `push` delivers to receivers that gave a push URL (RFC 8935).
"""
