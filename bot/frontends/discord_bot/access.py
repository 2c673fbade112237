"""Where the bot answers and who may rebuild the index.

It answers only in the configured servers; within them only in the configured channels (all of
them when none are listed), and threads follow their parent channel. Direct messages are off
unless turned on. Checked before anything else happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import discord

from bot.frontends.discord_bot.errors import NotAllowed
from bot.settings import DiscordSettings


@dataclass(frozen=True)
class Access:
    guild_ids: frozenset[int]
    channel_ids: frozenset[int]
    allow_dms: bool
    admin_role: str | None

    @classmethod
    def from_settings(cls, settings: DiscordSettings) -> Access:
        role = (settings.discord_admin_role or "").strip() or None
        return cls(
            frozenset(settings.discord_guild_ids),
            frozenset(settings.discord_channel_ids),
            bool(settings.discord_allow_dms),
            role,
        )

    def allows(self, channel: Any) -> bool:
        """May the bot answer in ``channel`` (a text channel, a thread, or a DM)?"""
        guild = getattr(channel, "guild", None)
        if guild is None:
            return self.allow_dms and isinstance(channel, discord.DMChannel)
        if guild.id not in self.guild_ids:
            return False
        if not self.channel_ids:
            return True
        if isinstance(channel, discord.Thread):
            parent = channel.parent
            ids = {channel.parent_id, getattr(parent, "category_id", None)}
        else:
            ids = {channel.id, getattr(channel, "category_id", None)}
        return bool(ids & self.channel_ids)

    def check(self, channel: Any) -> None:
        """Every slash command's first step: refuse, with where the bot does answer, outside
        the places it may (raised to the one error handler)."""
        if not self.allows(channel):
            raise NotAllowed(f"I only answer {self.where()}.")

    def may_reindex(self, member: Any, permissions: discord.Permissions | None) -> bool:
        """Members with Manage Server, or with the configured admin role (name or id)."""
        if permissions is not None and (permissions.manage_guild or permissions.administrator):
            return True
        if self.admin_role is None or not isinstance(member, discord.Member):
            return False
        return any(
            str(role.id) == self.admin_role or role.name.casefold() == self.admin_role.casefold()
            for role in member.roles
        )

    def where(self) -> str:
        """The places the bot answers, for a refusal message."""
        if self.channel_ids:
            return "in the channels an admin has set up for me"
        return "in the servers an admin has set up for me"
