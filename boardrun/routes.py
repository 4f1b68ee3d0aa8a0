"""The routes table: the single source of truth for which function serves which path.

The embedded server serves all of it on one port; each Knative function serves its
own group (`function_router`); infra/ routing and the OpenAPI document are checked
against it. Paths use werkzeug rule syntax.
"""

from boardrun.routing import Route

ROUTES: list[Route] = [
    # --- health ---
    Route("GET", "/health/live", "health", "boardrun.health.views:live", "Liveness probe", everywhere=True),
    Route("GET", "/health/ready", "health", "boardrun.health.views:ready", "Readiness probe: database and storage", everywhere=True),
    Route("GET", "/health/startup", "health", "boardrun.health.views:startup", "Startup probe: migrations applied", everywhere=True),
    # scraped per pod (prometheus.io/* annotations), never through the public gateway
    Route("GET", "/metrics", "health", "boardrun.metrics:view", "Prometheus metrics of this process", everywhere=True, internal=True),
    Route("GET", "/api/v1/health", "health", "boardrun.health.views:api_health", "Basic health check"),
    Route("GET", "/api/v1/health/db", "health", "boardrun.health.views:api_health_db", "Database round-trip time"),
    # --- auth ---
    Route("POST", "/api/v1/auth/register", "auth", "boardrun.accounts.views:register", "Register an account"),
    Route("POST", "/api/v1/auth/login", "auth", "boardrun.accounts.views:login", "Sign in with e-mail and password"),
    Route("POST", "/api/v1/auth/refresh", "auth", "boardrun.accounts.views:refresh", "Rotate a refresh token"),
    Route("POST", "/api/v1/auth/verify-email", "auth", "boardrun.accounts.views:verify_email", "Confirm an e-mail address with its verification token"),
    Route("POST", "/api/v1/auth/verify-email/resend", "auth", "boardrun.accounts.views:resend_verification", "Mail a new verification token", auth=True),
    Route("GET", "/api/v1/oauth/<provider>", "auth", "boardrun.oauth.views:start", "Start sign-in with an OAuth/OpenID Connect provider (302)"),
    Route("GET", "/api/v1/oauth/<provider>/callback", "auth", "boardrun.oauth.views:callback", "Finish sign-in with a provider: our tokens"),
    # --- hub ---
    Route("GET", "/api/v1/", "hub", "boardrun.hub.views:hub", "Hub information (platform configuration)"),
    Route("GET", "/api/v1/version", "hub", "boardrun.hub.views:version", "API version and build commit"),
    Route("GET", "/api/v1/catalog", "hub", "boardrun.hub.views:catalog", "Node catalog of the engine"),
    Route("GET", "/api/v1/info/legal", "hub", "boardrun.hub.views:legal", "Legal notice"),
    Route("GET", "/api/v1/info/privacy", "hub", "boardrun.hub.views:privacy", "Privacy policy"),
    Route("GET", "/api/v1/info/terms", "hub", "boardrun.hub.views:terms", "Terms of service"),
    Route("GET", "/api/v1/info/contact", "hub", "boardrun.hub.views:contact", "Contact information"),
    Route("GET", "/api/v1/info/features", "hub", "boardrun.hub.views:features", "Enabled features"),
    Route("GET", "/api/v1/info/profiles", "hub", "boardrun.hub.views:profiles", "Profile templates"),
    Route("GET", "/api/v1/openapi.json", "hub", "boardrun.hub.views:openapi", "OpenAPI 3.1 document of this API"),
    # --- store ---
    Route("GET", "/api/v1/store", "store", "boardrun.store.views:list_apps", "Browse the public apps"),
    Route("GET", "/api/v1/store/<app_id>", "store", "boardrun.store.views:get_app", "A public app with its boards and versions"),
    # --- users ---
    Route("GET", "/api/v1/user", "users", "boardrun.users.views:get_user", "The signed-in user's record", auth=True),
    Route("PUT", "/api/v1/user", "users", "boardrun.users.views:put_user", "Update the signed-in user's record", auth=True),
    Route("GET", "/api/v1/user/invites", "users", "boardrun.users.views:list_invites", "List the invitations sent to the signed-in user's address", auth=True),
    Route("POST", "/api/v1/user/invites/<invite_id>", "users", "boardrun.users.views:accept_invite", "Accept an invitation: join the app", auth=True),
    Route("DELETE", "/api/v1/user/invites/<invite_id>", "users", "boardrun.users.views:decline_invite", "Decline an invitation", auth=True),
    Route("GET", "/api/v1/profile", "users", "boardrun.users.views:list_profiles", "List own profiles", auth=True),
    Route("POST", "/api/v1/profile", "users", "boardrun.users.views:create_profile", "Create a profile", auth=True),
    Route("GET", "/api/v1/profile/<profile_id>", "users", "boardrun.users.views:get_profile", "Get an own profile", auth=True),
    Route("PUT", "/api/v1/profile/<profile_id>", "users", "boardrun.users.views:put_profile", "Update an own profile", auth=True),
    Route("DELETE", "/api/v1/profile/<profile_id>", "users", "boardrun.users.views:delete_profile", "Delete an own profile", auth=True),
    # --- apps ---
    Route("GET", "/api/v1/apps", "apps", "boardrun.apps.views:list_apps", "List the caller's apps (keyset pages)", auth=True),
    Route("POST", "/api/v1/apps", "apps", "boardrun.apps.views:create_app", "Create an app", auth=True),
    Route("GET", "/api/v1/apps/<app_id>", "apps", "boardrun.apps.views:get_app", "Get an app (Public apps: anyone)"),
    Route("PUT", "/api/v1/apps/<app_id>", "apps", "boardrun.apps.views:update_app", "Update an app", auth=True),
    Route("DELETE", "/api/v1/apps/<app_id>", "apps", "boardrun.apps.views:delete_app", "Delete an app and its storage", auth=True),
    Route("GET", "/api/v1/apps/<app_id>/team", "apps", "boardrun.apps.views:list_team", "List an app's members", auth=True),
    Route("PUT", "/api/v1/apps/<app_id>/team/invite", "apps", "boardrun.apps.views:invite_member", "Invite an e-mail address to an app's team", auth=True),
    Route("GET", "/api/v1/apps/<app_id>/team/invites", "apps", "boardrun.apps.views:list_invitations", "List an app's open invitations", auth=True),
    Route("DELETE", "/api/v1/apps/<app_id>/team/invites/<invite_id>", "apps", "boardrun.apps.views:revoke_invitation", "Revoke an invitation", auth=True),
    Route("DELETE", "/api/v1/apps/<app_id>/team/<user_id>", "apps", "boardrun.apps.views:remove_member", "Remove a member", auth=True),
    Route("GET", "/api/v1/apps/<app_id>/board", "apps", "boardrun.apps.board_views:list_boards", "List an app's boards"),
    Route("GET", "/api/v1/apps/<app_id>/board/<board_id>", "apps", "boardrun.apps.board_views:get_board", "Get a board (?version=)"),
    Route("PUT", "/api/v1/apps/<app_id>/board/<board_id>", "apps", "boardrun.apps.board_views:put_board", "Create or replace a board", auth=True),
    Route("DELETE", "/api/v1/apps/<app_id>/board/<board_id>", "apps", "boardrun.apps.board_views:delete_board", "Delete a board and its versions", auth=True),
    Route("PATCH", "/api/v1/apps/<app_id>/board/<board_id>", "apps", "boardrun.apps.board_views:freeze_board", "Freeze a board version (?version_type=)", auth=True),
    Route("GET", "/api/v1/apps/<app_id>/board/<board_id>/version", "apps", "boardrun.apps.board_views:list_versions", "List a board's frozen versions"),
]

ROUTES += [
    # --- jobs ---
    Route("POST", "/jobs/submit", "jobs", "boardrun.jobs.views:submit", "Submit a workflow job", auth=True),
    Route("GET", "/jobs", "jobs", "boardrun.jobs.views:list_", "List an app's jobs", auth=True),
    Route("GET", "/jobs/<job_id>", "jobs", "boardrun.jobs.views:get", "Get a job's status", auth=True),
    Route("GET", "/jobs/<job_id>/logs", "jobs", "boardrun.jobs.views:logs", "Get a job's stored log lines", auth=True),
    Route("GET", "/jobs/<job_id>/events", "jobs", "boardrun.jobs.views:events", "Stream a job's events (Server-Sent Events)", auth=True),
    Route("POST", "/jobs/<job_id>/cancel", "jobs", "boardrun.jobs.views:cancel", "Cancel a job", auth=True),
    # --- execution ---
    Route("POST", "/api/v1/execution/run", "execution", "boardrun.jobs.views:execution_run", "Execute a workflow", auth=True),
    Route("GET", "/api/v1/execution/<run_id>", "execution", "boardrun.jobs.views:execution_get", "Get an execution's status", auth=True),
    # --- dispatcher (CloudEvents from the broker, PingSources and the ApiServerSource) ---
    Route("POST", "/events", "dispatcher", "boardrun.jobs.dispatcher_views:events", "Receive a CloudEvent"),
    Route("POST", "/events/dead-letter", "dispatcher", "boardrun.jobs.dispatcher_views:dead_letter", "Receive a dead-lettered CloudEvent"),
]

_SINK = "/api/v1/sink/trigger/http/<app_id>/<path:path>"
ROUTES += [
    # --- triggers: an app's events, the HTTP sink, CloudEvents and schedules ---
    Route("GET", "/api/v1/apps/<app_id>/events", "triggers", "boardrun.triggers.views:list_events", "List an app's events", auth=True),
    Route("POST", "/api/v1/apps/<app_id>/events", "triggers", "boardrun.triggers.views:create_event", "Create an event (http, cron or cloudevent)", auth=True),
    Route("GET", "/api/v1/apps/<app_id>/events/<event_id>", "triggers", "boardrun.triggers.views:get_event", "Get an event (secrets are never returned)", auth=True),
    Route("PUT", "/api/v1/apps/<app_id>/events/<event_id>", "triggers", "boardrun.triggers.views:put_event", "Replace an event (secrets kept unless given)", auth=True),
    Route("DELETE", "/api/v1/apps/<app_id>/events/<event_id>", "triggers", "boardrun.triggers.views:delete_event", "Delete an event", auth=True),
    Route("POST", "/api/v1/apps/<app_id>/events/<event_id>/invoke", "triggers", "boardrun.triggers.views:invoke", "Run an event's board and wait for the result (bounded like mode sync)", auth=True),
    Route("POST", "/api/v1/apps/<app_id>/events/<event_id>/invoke/async", "triggers", "boardrun.triggers.views:invoke_async", "Start an event's board (202 + Location)", auth=True),
    *[Route(method, _SINK, "triggers", "boardrun.triggers.views:http_sink", f"Webhook ({method}): start the board of the app's http event with this path")
      for method in ("GET", "POST", "PUT", "PATCH", "DELETE")],
    Route("POST", "/triggers/events", "triggers", "boardrun.triggers.views:broker_events", "Receive a CloudEvent from the broker: start the boards it matches"),
    Route("POST", "/triggers/cron", "triggers", "boardrun.triggers.views:cron_tick", "PingSource tick: fire the schedules that are due"),
]
