"""Sync a study with a CouchDB database (a hub) through the CouchDB replication protocol."""
