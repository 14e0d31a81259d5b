"""Infrastructure the rules run on: login sessions, API tokens, uploads kept between report and
confirmation, agreement scans, backups, the geocoder and the per-process compliance cache."""
