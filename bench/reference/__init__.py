"""A vanilla SimpleJWT project, the yardstick `make bench` measures Warden against."""
