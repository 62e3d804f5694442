"""A local venue simulator: each venue's own HTTP and websocket protocol over the sim engine."""
