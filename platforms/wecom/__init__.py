"""WeCom (企业微信) for grid workers: callback crypto, the API client with per-member limits."""
