"""The web console: the service's pages for the people behind the keys (hotline analysts, hosters' trust
and safety staff, the authority, the operator), server-rendered in the API's app under ``/console``."""

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from console.routes import admin, auth, compliance, lists, notices, webhooks
from console.web import PREFIX, PageError, SignInFirst, error_page, page, respond_to, serves

__all__ = ["UPLOADS", "error_page", "mount", "serves"]


def mount(app: FastAPI) -> None:
    """Serve the console in ``app``: its pages, its stylesheet, and its error pages."""
    for router in (
        auth.router,
        notices.router,
        compliance.router,
        webhooks.router,
        lists.router,
        admin.router,
    ):
        app.include_router(router)
    app.mount(
        f"{PREFIX}/static", StaticFiles(directory=Path(__file__).parent / "static"), name="console-static"
    )

    @app.get(f"{PREFIX}/{{rest:path}}", include_in_schema=False)
    def missing(request: Request) -> Response:
        """A page for a person, not the API's JSON, at an address the console does not have."""
        return page(request, "error.html", 404, message="There is no such page in the console.")

    async def handle(request: Request, error: Exception) -> Response:
        return respond_to(error, request)

    app.add_exception_handler(PageError, handle)
    app.add_exception_handler(SignInFirst, handle)


UPLOADS = (f"{PREFIX}/lists/",)
"""Where a multipart form may be posted (a list file to import): the app refuses it everywhere else."""
