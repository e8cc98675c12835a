"""Modal dialogs: each returns its answer to the screen that opened it."""
