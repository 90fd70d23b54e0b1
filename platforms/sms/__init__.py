"""SMS: the outbound client over a provider (`client.py`; the providers' SDK wrappers live with the
notifier, backend/notifications/providers/), and the providers' inbound reply protocol (`protocol.py`)."""
