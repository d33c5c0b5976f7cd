"""Transports: how a driver's Request becomes a Reply.

- base.py: the Transport protocol (`send(Request) -> Reply`, `aclose()`) the engine is written
  against, so a test or the offline walk can hand it another one.
- http.py: the hot-path HTTP/1.1 client (asyncio Protocol + httptools, keep-alive, pooled per
  origin), shared by the engine, ingestion and replay; this is why it is its own stage rather
  than part of engine/.
- tls.py: the one TLS client context a run uses (`tls_ca_file`, `tls_verify`), shared by every connection.

The reference platform's in-process transport is `loadtest.platform.in_process`: it belongs to
the platform, and drivers reach it through that one module.
"""
