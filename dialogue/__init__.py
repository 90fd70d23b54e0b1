"""The conversation: what the assistant says to a message, given what was said before (no Rasa here).

`engine.respond(state, message, backend, journal)` answers one message; `docs/adr/0002` says why
the dialogue lives in code and Rasa does the understanding.
"""
