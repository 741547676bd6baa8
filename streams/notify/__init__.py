"""The notifier's pure logic: who hears about a violation, in which words, and how low-severity
reminders are batched. No Kafka, Faust, Redis or HTTP here; `agents/notify_*` does the transport."""
