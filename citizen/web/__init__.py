"""The enrolment site phones reach on the local network: join pages and each participant's own page."""
