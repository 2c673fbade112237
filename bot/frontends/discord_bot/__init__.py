"""The Discord front end: a thin layer over the answer service (see ``client.py``).

Importing this package does not import discord.py, so ``newsbot discord`` can check its settings
and stop at once when something is missing.
"""

from __future__ import annotations

from bot.settings import DiscordSettings


def startup_problem(settings: DiscordSettings) -> str | None:
    """Why ``newsbot discord`` cannot start with these settings, with the fix; None if it can."""
    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        return (
            "DISCORD_TOKEN is not set. Create an application at "
            "https://discord.com/developers/applications, open Bot → Reset Token, copy the token "
            "and put DISCORD_TOKEN=... in your .env file (see the README's Discord section)."
        )
    if not settings.discord_guild_ids and not settings.discord_allow_dms:
        return (
            "No server is configured, so the bot would answer nowhere. Set "
            "NEWSBOT_DISCORD_GUILD_IDS to your server's id (Discord: Settings → Advanced → "
            "Developer Mode, then right-click the server → Copy Server ID)."
        )
    return None
