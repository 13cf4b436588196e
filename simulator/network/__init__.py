"""How actors reach the server: link emulation, the virtual network, the TCP proxy."""
