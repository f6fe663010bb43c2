"""R22: production settings pass `check --deploy` with no warning; a missing secret stops startup.

Each case starts manage.py in a subprocess with the production settings module and an
environment built here, so nothing from the test settings (which relax a few settings through
os.environ) leaks in.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# Settings that change what check --deploy sees; each case sets the ones it needs.
_SECURITY_ENV = [
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # the browser tests set it while their browser is open
    "DJANGO_SETTINGS_MODULE",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "BEHIND_TLS_PROXY",
    "MAIL_BACKEND",
]


def _manage(*args: str, **env_vars: str) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if name not in _SECURITY_ENV}
    env["DJANGO_SETTINGS_MODULE"] = "opsdesk.settings"
    env.update(env_vars)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _production_env() -> dict[str, str]:
    return {"SECRET_KEY": secrets.token_urlsafe(64), "ALLOWED_HOSTS": "ops.example.com"}


def test_production_settings_pass_check_deploy_with_no_warning():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **_production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_fails_on_a_weak_secret_key():
    # Shows that the check above would catch a warning.
    env = _production_env() | {"SECRET_KEY": "short"}

    result = _manage("check", "--deploy", "--fail-level", "WARNING", **env)

    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


def test_startup_without_secret_key_stops_naming_it():
    env = _production_env()
    del env["SECRET_KEY"]

    result = _manage("check", **env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_runs_without_secret_key():
    result = _manage("check", DEBUG="true")

    assert result.returncode == 0, result.stdout + result.stderr


def test_sessions_come_from_the_cache_only_when_it_is_shared():
    show = (
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(settings.SESSION_ENGINE)",
    )
    with_redis = _manage(*show, DEBUG="true", REDIS_URL="redis://127.0.0.1:6379/0")
    without = _manage(*show, DEBUG="true", REDIS_URL="")

    assert with_redis.stdout.strip() == "opsdesk.core.sessions", with_redis.stderr
    # A cache of each process's own would keep a session another process logged out.
    assert without.stdout.strip() == "django.contrib.sessions.backends.db", without.stderr
