"""`python -m tests.independent_server --port N`: run the server standalone until SIGINT or SIGTERM.
Prints its URL on one line (stdout, flushed) once it listens."""

from __future__ import annotations

import argparse
import asyncio
import signal
from dataclasses import fields

from .config import ServerConfig, Stats
from .server import start

_INT_FIELDS = [f.name for f in fields(ServerConfig) if f.type in ("int", int)]


def _config(argv: list[str] | None) -> ServerConfig:
    parser = argparse.ArgumentParser(prog="python -m tests.independent_server", description=__doc__)
    parser.add_argument("--host", default=ServerConfig.host)
    parser.add_argument("--api-key", default=ServerConfig.api_key)
    parser.add_argument("--outside-host", default=ServerConfig.outside_host)
    for name in _INT_FIELDS:
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(ServerConfig, name))
    args = parser.parse_args(argv)
    return ServerConfig(host=args.host, api_key=args.api_key, outside_host=args.outside_host,
                        **{name: getattr(args, name) for name in _INT_FIELDS})


async def _serve(config: ServerConfig) -> None:
    handle = await start(config, Stats())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(handle.url, flush=True)
    try:
        await stop.wait()
    finally:
        await handle.close()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(_serve(_config(argv)))


if __name__ == "__main__":
    main()
