"""Platform-neutral chat commands; the faces call only what is re-exported here.

* :func:`handle_text` — a typed command (``/cmd args``, ``cmd args``) or a plain question;
* :func:`handle_button` — a button's callback data (see :func:`handlers.render.alert_buttons`);
* :func:`handle_file` — a YAML file sent to the chat: a watchlist import;
* :func:`command_specs` — the commands, for help and Telegram's command menu.

The rooms: ``dispatch`` (parsing and routing, the guarantees every command
keeps), ``base`` (shared parsing helpers, access, errors), ``chat``
(subscriptions, mutes, feedback), ``watchlists`` (editing and testing),
``answers`` (alerts, search, summaries, trends) and ``sources``.
"""

from handlers.commands.dispatch import command_specs, handle_button, handle_file, handle_text

__all__ = ["command_specs", "handle_button", "handle_file", "handle_text"]
