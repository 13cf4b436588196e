"""The record of a run: the kinds of events, the log that holds them, a running tally."""
