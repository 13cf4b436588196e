"""The protocol's timings and sizes: what both sides of a connection agree on."""

from __future__ import annotations

#: Seconds between heartbeats the server sends on an idle connection.
HEARTBEAT_INTERVAL = 10.0
#: Seconds without any frame after which either side considers the peer dead.
DEAD_PEER_TIMEOUT = 30.0
#: Seconds a session outlives its connection, waiting for a resume.
SESSION_GRACE = 30.0
#: Largest frame accepted, in bytes of UTF-8.
MAX_FRAME_BYTES = 65536
#: Longest chat message, in characters.
MAX_TEXT_CHARS = 4000
#: Server events kept per session for replay after a reconnect.
REPLAY_BUFFER = 1024
#: Longest page url, title or referrer kept; a longer one is cut (the page still chats).
MAX_PAGE_CHARS = 2048
