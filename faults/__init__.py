"""The fault suite: real processes, real servers, injected crashes and outages (see README.md)."""
