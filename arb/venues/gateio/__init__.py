"""gateio connector (constants, auth and codec so far; public/private/stream follow)."""
