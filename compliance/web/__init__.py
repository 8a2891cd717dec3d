"""The review web app (`compliance serve`): Starlette over the history, the report templates, the review ledger.

``app.create_app`` builds it; ``guard`` holds sessions, CSRF and the login slowdown; ``pages`` the routes.
"""
