"""A local stand-in for the WeChat, WeCom (and SMS) platforms, speaking their real protocols."""
