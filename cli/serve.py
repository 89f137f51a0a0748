"""``hashmatch serve``: the HTTP API under uvicorn, on the configured database (migrated first) and index."""

import argparse

from cli.common import Commands, open_database


def register(commands: Commands) -> None:
    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    from api.app import create_app
    from config.settings import get_settings

    settings = get_settings()
    with open_database(settings):  # migrate before the first request
        pass
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info", access_log=False)
