"""The HTTP service (FastAPI): authentication and thin routes over the domain packages."""
