"""Summarise today: the digest engine runs in the background; its text streams into the reader."""

from __future__ import annotations
