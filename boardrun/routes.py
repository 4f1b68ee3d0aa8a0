"""The routes table: the single source of truth for which function serves which path.

The embedded server serves all of it on one port; each Knative function serves its
own group (`function_router`); infra/ routing and the OpenAPI document are checked
against it. Paths use werkzeug rule syntax.
"""

from boardrun.routing import Route

ROUTES: list[Route] = [
    # --- health ---
    Route("GET", "/health/live", "health", "boardrun.health.views:live", "Liveness probe"),
    Route("GET", "/health/ready", "health", "boardrun.health.views:ready", "Readiness probe: database and storage"),
    Route("GET", "/health/startup", "health", "boardrun.health.views:startup", "Startup probe: migrations applied"),
    Route("GET", "/api/v1/health", "health", "boardrun.health.views:api_health", "Basic health check"),
    Route("GET", "/api/v1/health/db", "health", "boardrun.health.views:api_health_db", "Database round-trip time"),
    # --- auth ---
    Route("POST", "/api/v1/auth/register", "auth", "boardrun.accounts.views:register", "Register an account"),
    Route("POST", "/api/v1/auth/login", "auth", "boardrun.accounts.views:login", "Sign in with e-mail and password"),
    Route("POST", "/api/v1/auth/refresh", "auth", "boardrun.accounts.views:refresh", "Rotate a refresh token"),
    # --- users ---
    # --- apps ---
]

FUNCTIONS = sorted({r.function for r in ROUTES})
