"""Shared fixtures. Tiny media factories live in `mgrdark_data.testing` (STYLE 11)."""
