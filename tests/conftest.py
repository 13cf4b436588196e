"""The tests mirror the source: ``tests/server/`` the reference server (``core/`` its pure state
machines, ``protocol/`` the wire messages, ``http/`` the HTTP side; the store, load, trust,
security and end-to-end tests at its root), ``tests/simulator/`` the simulator's wings
(``cli/``, ``play/``, ``scenario/``, ``network/link|proxy|virtual/``, ``record/``,
``report/``, ``pytest_plugin/``), ``tests/outside/`` the tests written as a stranger (the
outside client from docs/protocol.md, the cut points, a newcomer's first run) and
``tests/browser/`` the pages in Chromium (its fixtures in its own conftest.py).
``tests/support/`` holds the helpers several folders share (the hub driver, the server on the
virtual network, the cut-point harness), imported by package path (``from
tests.support.world import World``); ``tests/vectors/`` holds data shared with the browser.
"""
