"""[1] Venue-agnostic transport: REST client, WebSocket client, rate limiter."""
