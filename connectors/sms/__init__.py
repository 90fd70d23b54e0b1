"""SMS: outbound through the providers' SDKs (`client.py`, app env), inbound replies (`protocol.py`,
`channel.py`, the Rasa channel at `/webhooks/sms/webhook`)."""
