"""What every venue package is built from, so that no venue logic is written twice.

=============  ===========================================================================
module         what a venue takes from it
=============  ===========================================================================
``adapter``    ``VenueAdapter`` (the contract), ``Connection`` (what an adapter is built
               from), ``AdapterBase`` (lifecycle, capabilities from ``SPEC``, options,
               id memory, skip counts), ``SkipCounter``
``options``    ``VenueOptions`` (the options every adapter has; subclass it),
               ``SecretOption`` (a secret option, revealed only where it is used)
``rest``       ``RestClient`` (one session, safe decoding, typed errors; its
               ``Reply.read`` parses a body, naming the endpoint if it cannot),
               ``SignedCalls`` (nonce order, spacing, one re-sign after a refused
               nonce; ``spaced`` for private calls without a nonce), ``KeyPair``
               (key and secret, revealed only to sign), ``api_base``, ``path``,
               ``query_params``
``ids``        ``IdMemory``: client id <-> venue order id, bounded, with claims
``types``      ``VenueOrder`` and ``ack`` (the VenueOrder of a place reply); the
               upper-case names of our sides, order types and times in force
``errors``     the typed errors, ``classify``/``ErrorRules``, ``ParseError``,
               ``UnreadableReply``, ``AMBIGUOUS`` and ``is_ambiguous``
``parsing``    ``decode_json``, ``parse_decimal``, ``Fields``, ``rows`` (skip bad
               rows), ``parse_levels``, times, signing helpers
``nonce``      ``NonceSource``, ``ClockNonce``, ``advance_past_refusal``
=============  ===========================================================================

The kit names no venue: a venue's own vocabulary (paths, field names, status
tables, error codes) lives in its package.
"""
