"""``migrate`` as the database owner, provisioning the RLS-bound runtime role around it.

``DATABASE_URL=<superuser URL> python manage.py migrate`` then ``runserver`` on the same URL just
works: this command connects as the owner, creates the roles, migrates and grants DML; requests
afterwards run as ``DATABASE_APP_ROLE``. It ends with the RLS self-check, as the runtime role.
"""

from __future__ import annotations

from django.core.management.base import CommandError
from django.core.management.commands.migrate import Command as DjangoMigrateCommand
from django.db import connections

from tenants.rls.checks import rls_problems
from tenants.rls.postgres_roles import (
    ensure_roles,
    grant_runtime_privileges,
    is_owner_connection,
    owner_connection,
)


class Command(DjangoMigrateCommand):
    help = DjangoMigrateCommand.help + " Runs as the database owner and provisions the runtime role."

    def get_check_kwargs(self, options):
        # Database checks would connect as the runtime role, which may not exist yet, and the RLS
        # self-check describes the state this command is about to create: it runs at the end instead.
        kwargs = super().get_check_kwargs(options)
        kwargs.pop("databases", None)
        return kwargs

    def handle(self, *args, **options):
        database = options["database"]
        with owner_connection(database):
            connection = connections[database]
            ensure_roles(connection)
            super().handle(*args, **options)
            grant_runtime_privileges(connection)
        if is_owner_connection(database):
            return  # an enclosing owner block (test database setup) checks once it has ended
        problems = rls_problems(database)
        if problems:
            raise CommandError("RLS self-check failed:\n  " + "\n  ".join(problems))
