"""Exports: files that leave the laptop (CSV, study bundles). No Textual, aiohttp or Jinja2 here."""
