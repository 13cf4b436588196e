"""Playing one run: the runner, the virtual actors, the server under test."""
