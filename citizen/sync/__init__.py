"""Sync a study with a CouchDB database (a hub) through the CouchDB replication protocol."""

PASSWORD_ENV = "CITIZEN_SYNC_PASSWORD"  # where a script gives the hub password
