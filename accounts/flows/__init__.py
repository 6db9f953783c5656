"""What Warden does, one module per capability; views and allauth hooks call these functions."""
