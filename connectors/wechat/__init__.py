"""The WeChat official account: inbound crypto and parsing, the API client, the 48 h window."""
