"""Venues: one package per venue (auth, rest, websocket, parsing, adapter), the
kit they share, the registry that lists them, and the simulated venue."""
