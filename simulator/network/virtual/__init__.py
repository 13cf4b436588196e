"""The virtual world of ``clock = "virtual"``: an in-memory network the real server stack
(Hypercorn's own connection handling serving the Quart-trio app) and the same actors run
on, in one process, under trio's ``MockClock``.

``net`` (the network) and ``hypercorn_worker`` (Hypercorn on it) are imported from their modules:
the package loads neither, so the network alone does not pull in Hypercorn."""
