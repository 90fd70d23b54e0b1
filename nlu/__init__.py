"""PowerDesk's own Rasa NLU components (bot env), named in bot/config.yml."""
