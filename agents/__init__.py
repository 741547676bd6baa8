"""The Faust app, the Redis stores and the `qunguard` CLI: everything that touches Kafka or Redis."""
