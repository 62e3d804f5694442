"""What every venue package is built from: the adapter contract and base, value
types, nonces, error classes and classification, and payload parsing helpers."""
