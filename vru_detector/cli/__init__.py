"""Command-line entry points of the runtime (no torch, no rclpy)."""
