"""Review links: the signed grant a notifier message carries (links.py) and the pages it opens
(page.py). Pure: the notifier (agents/notify/review.py) serves them and records the verdicts."""
