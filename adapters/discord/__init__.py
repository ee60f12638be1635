"""Discord: discord.py client, `/inkwell` commands and persistent buttons around the core."""
