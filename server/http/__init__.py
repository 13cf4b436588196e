"""The server's HTTP side: the API (:mod:`.api`, :mod:`.logins`), the Control Panel's API
(:mod:`.admin`) and the pages (:mod:`.pages`), each added to the app by its ``register``;
what they share is in :mod:`.replies`."""
