"""The advisory council: members vote on referred cases; bridging turns the votes into a recommendation."""
