"""The embedded reference platform's local credentials, shared by the platform and the clients.

These are for a platform on 127.0.0.1 that nobody else can reach: `loadtest mock` and `loadtest run`
against `target = "embedded"` fall back to them when the environment variable a scenario names is
unset. A real target always takes its credentials from the environment; these values are not
secrets and are never sent anywhere but the embedded platform.
"""

__all__ = ["DEFAULT_ADMIN_TOKEN_ENV", "DEFAULT_API_KEY", "DEFAULT_DATA_TOKEN", "DEFAULT_PANEL_API_KEY",
           "DEFAULT_PANEL_SECRET"]

DEFAULT_API_KEY = "loadtest-local-key"
DEFAULT_PANEL_API_KEY = "loadtest-local-panel-key"
DEFAULT_PANEL_SECRET = "loadtest-local-panel-hash"
DEFAULT_DATA_TOKEN = "loadtest-local-data-token"
DEFAULT_ADMIN_TOKEN_ENV = "LOADTEST_ADMIN_TOKEN"
