"""Discord adapters: each cog parses options, checks permissions, calls one service and renders."""
