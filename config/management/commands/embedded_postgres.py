"""``manage.py embedded_postgres stop|status``: the development database that starts by itself when
``DATABASE_URL`` is unset (``config.database``), in ``AUTHSVC_DATA_DIR`` (default ``var/``).

It stops with the last process that used it. ``stop`` is for one left running all the same (a process
killed with SIGKILL, a machine's sleep): it stops the server whoever still uses it, as root too, where
``pg_ctl`` itself refuses to run. Neither action starts the server (``config.settings`` leaves it alone
for this command).
"""

from __future__ import annotations

import subprocess

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.database import embedded_data_dir, embedded_server_status, embedded_server_stop


class Command(BaseCommand):
    help = "Stop the embedded development Postgres, or say whether it runs and which processes use it."
    requires_system_checks = []  # a stop must not wait on (or fail with) the checks

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["stop", "status"])

    def handle(self, *args, action: str, **options) -> None:
        pgdata = embedded_data_dir(settings.BASE_DIR) / "pgdata"
        if action == "status":
            pid, users = embedded_server_status(pgdata.parent)
            if pid is None:
                self.stdout.write(f"No embedded Postgres is running in {pgdata}.")
            else:
                used_by = ", ".join(map(str, users)) or "none"
                self.stdout.write(
                    f"The embedded Postgres in {pgdata} runs (pid {pid}); processes using it: {used_by}."
                )
            return
        try:
            pid = embedded_server_stop(pgdata.parent)
        except subprocess.CalledProcessError as exc:
            raise CommandError(f"pg_ctl could not stop the server in {pgdata}: {exc.stderr or exc}") from None
        if pid is None:
            self.stdout.write(f"No embedded Postgres is running in {pgdata}.")
        else:
            self.stdout.write(f"Stopped the embedded Postgres in {pgdata} (pid {pid}).")
