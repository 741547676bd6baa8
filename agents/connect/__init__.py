"""How qunguard reaches Kafka and Redis: settings from the environment, TLS and authentication,
the Kafka and Redis client factories, topic administration and offsets as the broker has them."""

from agents.connect.admin import TopicAdminError, create_topics
from agents.connect.kafka import producer_config, reader_config
from agents.connect.offsets import TP, GroupOffsets, Membership, OffsetReadError, caught_up, end_offsets
from agents.connect.redis import async_redis_client, check_redis_login, redis_client
from agents.connect.security import REDIS_LOGIN_HINT, checked_settings, faust_broker_options, redacted_url
from agents.connect.settings import Settings

__all__ = [
    "REDIS_LOGIN_HINT",
    "TP",
    "GroupOffsets",
    "Membership",
    "OffsetReadError",
    "Settings",
    "TopicAdminError",
    "async_redis_client",
    "caught_up",
    "check_redis_login",
    "checked_settings",
    "create_topics",
    "end_offsets",
    "faust_broker_options",
    "producer_config",
    "reader_config",
    "redacted_url",
    "redis_client",
]
