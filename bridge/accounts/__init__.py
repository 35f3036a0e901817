"""People: user accounts (argon2id hashes), browser sessions kept in the store, CSRF tokens
and login throttling. Pure storage and rules; the pages live in bridge.web."""
