"""SupportBee compat views, one module per spec area; ``providers.supportbee.routes`` lists them."""
