"""manage.py for the reference project; run from the repository root."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.reference.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
