"""Infrastructure definitions and release tooling (not part of the Lambda package)."""
