"""`app = create_app()` for gunicorn and `flask --app wsgi`.

With REGISTRY_ENV=production (what `make serve` sets), building the app refuses an unset or
development SECRET_KEY (registry.config.InsecureSettings), so gunicorn stops instead of serving.
"""

from registry import create_app

app = create_app()
