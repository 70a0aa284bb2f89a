"""The stats page, its JSON API and ``/metrics``, served by the worker's own (Faust) web server.

Autodiscovered with the agents and tables: every module here only declares pages at import and
reads nothing until a request arrives. ``pages`` serves the HTML page and its static files and
the invoice downloads, ``api`` the JSON API and ``/metrics``; ``params``, ``panels`` and ``prom``
are pure (request parsing, read models, Prometheus text) and ``owners`` answers per-truck
requests from the worker that owns the truck's partition. The API is documented in
``docs/web-api.md``.
"""
