"""SupportBee: drop-in compatibility surface and outbound client (spec: shared/specs/supportbee-api.txt)."""
