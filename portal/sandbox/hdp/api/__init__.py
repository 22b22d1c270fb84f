"""The emulator's HDP API handlers, one module per resource; ``router`` maps paths to them."""
