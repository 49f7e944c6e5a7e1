"""Cluster mode on NATS JetStream: many workers, one account, no double spend.

- `conn`: settings, the connection and the buckets/stream every worker shares.
- `leases`: membership and symbol ownership by lease (a KV bucket whose entries expire).
- `ledger`: balances and holdings per (venue, asset), changed only by compare-and-set.
- `allocation`: a worker's local share of the ledger, what the hot path trades from.
- `state`: the cluster's HALT/RESUME (a KV key plus a broadcast subject).
- `events`: opportunities, orders, fills, PnL and states published to a JetStream stream.
- `tap`: what the engine's journal records, turned into order and fill events.
- `feed`: reading the stream back (`pnl --cluster`; `top` is `top --cluster`'s dashboard).
- `budgets`: each worker's share of every venue's rate limits; a 429/418 backs off every worker.
- `limits`: the global limits (open opportunities, unhedged notional, daily loss) over the cluster.
- `worker`: one engine's member of the cluster (the engine's `TradeGate`).
- `server`: a local `nats-server` process (tests and `demo --cluster`).

Nothing here is imported unless `--cluster` is given: the engine itself never imports NATS.
"""
