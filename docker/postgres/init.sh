#!/bin/bash
# First-start provisioning for the compose stack's Postgres 16: the official image runs this from
# /docker-entrypoint-initdb.d as the superuser (POSTGRES_USER, over the local socket) when the data
# volume is empty, never again afterwards. It creates:
#
# * the owner (AUTHSVC_OWNER_ROLE): LOGIN, not a superuser, owns the database (so it has CREATE on its
#   public schema, which PG15+ no longer grants to PUBLIC). `migrate` runs as it (DATABASE_MIGRATE_URL).
#   CREATEROLE because migrate creates the cross-tenant role (<app role>_cross_tenant) itself and grants
#   it to the runtime role; PG16 gives a role's creator ADMIN on it, which that grant needs.
# * the runtime role (AUTHSVC_APP_ROLE): LOGIN with its own password (DATABASE_URL), NOINHERIT, no
#   superuser, BYPASSRLS, CREATEDB or CREATEROLE. Granted to the owner WITH ADMIN OPTION (PG16: a
#   CREATEROLE role manages only roles it holds ADMIN on; SET lets migrate act as it).
# * the database (AUTHSVC_DB_NAME), owned by the owner; only the two roles (and superusers) connect.
#
# Role and database names come from the environment (defaults below), passwords must be given.
# Also runnable by hand against any server: PGHOST=... POSTGRES_USER=postgres AUTHSVC_...=... bash init.sh
set -eo pipefail  # no -u: the image sources a non-executable init script into its entrypoint

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
  -v db_name="${AUTHSVC_DB_NAME:-authsvc}" \
  -v owner_role="${AUTHSVC_OWNER_ROLE:-authsvc_owner}" \
  -v owner_password="${AUTHSVC_OWNER_PASSWORD:?AUTHSVC_OWNER_PASSWORD must be set}" \
  -v app_role="${AUTHSVC_APP_ROLE:-authsvc_app}" \
  -v app_password="${AUTHSVC_APP_PASSWORD:?AUTHSVC_APP_PASSWORD must be set}" \
  <<'SQL'
CREATE ROLE :"owner_role" LOGIN PASSWORD :'owner_password'
  NOSUPERUSER NOBYPASSRLS NOCREATEDB CREATEROLE INHERIT;
CREATE ROLE :"app_role" LOGIN PASSWORD :'app_password'
  NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
GRANT :"app_role" TO :"owner_role" WITH ADMIN OPTION;

CREATE DATABASE :"db_name" OWNER :"owner_role";
REVOKE ALL ON DATABASE :"db_name" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db_name" TO :"app_role";
SQL
