"""``hashmatch serve``: the HTTP API under uvicorn, on the configured database (migrated first) and index,
in one process or several workers; ``hashmatch warm``: compile the search kernels into numba's cache."""

import argparse
import os
import time

from cli.common import CommandError, Commands, open_database

APP_FACTORY = "api.asgi:app_from_environment"


def register(commands: Commands) -> None:
    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    serve.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes sharing the port, each mapping the same index files (default: one per "
        f"core, here {os.cpu_count() or 1}); 1: a single process",
    )
    serve.set_defaults(handler=_serve)
    warm = commands.add_parser(
        "warm", help="compile the search kernels into numba's cache (e.g. when building an image)"
    )
    warm.set_defaults(handler=_warm)


def _serve(args: argparse.Namespace) -> None:
    if args.workers < 1:
        raise CommandError(f"--workers: at least 1, not {args.workers}")
    import uvicorn

    from api.app import create_app
    from config import get_settings

    settings = get_settings()
    with open_database(settings):  # migrate once, before the first worker starts
        pass
    if settings.redis_url:
        _check_redis(settings.redis_url)
    if args.workers == 1:
        app = create_app(settings)
        uvicorn.run(app, host=args.host, port=args.port, log_level="info", access_log=False)
    else:  # each worker builds its app from the environment (the settings, NUMBA_CACHE_DIR)
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            workers=args.workers,
            host=args.host,
            port=args.port,
            log_level="info",
            access_log=False,
        )


def _check_redis(url: str) -> None:
    """Stop in one line, before any worker starts, if the rate budgets' Redis cannot be used."""
    try:
        from guard.budgets_redis import RedisUnavailable, check_redis
    except ImportError:
        raise CommandError(
            "HASHMATCH_REDIS_URL needs the 'redis' extra: pip install 'hashmatch[redis]'"
        ) from None
    try:
        check_redis(url)
    except RedisUnavailable as error:
        raise CommandError(str(error)) from None


def _warm(_: argparse.Namespace) -> None:
    from config import get_settings, use_numba_cache
    from matcher.warm import warm_kernels

    started = time.perf_counter()
    warm_kernels()
    directory = use_numba_cache(get_settings())
    print(f"search kernels compiled in {time.perf_counter() - started:.1f} s, cached in {directory}")
