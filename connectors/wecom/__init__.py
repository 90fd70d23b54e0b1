"""WeCom (企业微信) for grid workers: inbound crypto, the API client with per-member limits."""
