"""The SMS providers' SDKs behind `platforms.sms.client.SmsProvider` (app env only)."""
