"""The WeChat official account: callback crypto and parsing, the API client, the 48 h window."""
