#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A startup refusal (config/settings.py): say why in one line, no traceback, exit non-zero.
        sys.stderr.write(f"authsvc refuses to start: {exc}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
