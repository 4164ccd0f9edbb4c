"""The vocabulary: errors, choices, the referral state table, validators, match keys (no models)."""
