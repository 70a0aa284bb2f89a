"""The stats page, its JSON API and ``/metrics``, served by the worker's own (Faust) web server.

Autodiscovered with the agents and tables (Faust's venusian scan imports every module of this
package, so a new module's ``@app.page`` views register without being listed anywhere): every
module only declares pages at import and reads nothing until a request arrives.

* ``pages``: the HTML page, its static files and the invoice downloads;
* ``api_overview``, ``api_trucks``, ``api_dlq``, ``api_health`` (with ``/metrics``): the JSON
  API, one module per panel area;
* ``http``: JSON responses and errors, parameters, the token check, and answering from the
  worker that owns a partition (``owners`` finds it);
* ``worker_status`` (``worker`` holds this app's one instance): assignment, offsets, lag,
  rebalancing and broker status;
* ``params``, ``panels`` and ``prom`` are pure (request parsing, read models, Prometheus text).

The API is documented in ``docs/web-api.md``.
"""
